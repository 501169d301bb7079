import "@mantine/core/styles.css";
import { type CSSVariablesResolver, createTheme, MantineProvider } from "@mantine/core";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App.tsx";

/** Darker shades than Mantine's defaults, so every text meets WCAG AA contrast (axe-core checks it). */
const theme = createTheme({ primaryShade: 8 });
const resolver: CSSVariablesResolver = () => ({
  variables: {},
  light: { "--mantine-color-dimmed": "#596068", "--mantine-color-error": "#c92a2a" },
  dark: {},
});

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <MantineProvider theme={theme} cssVariablesResolver={resolver}>
      <App />
    </MantineProvider>
  </StrictMode>,
);
