import { Anchor } from "@mantine/core";
import type { MouseEvent, ReactNode } from "react";
import { BASE, navigate } from "../router.ts";

/** An in-console link: a real `<a href>` (open in a new tab works) that navigates without reloading. */
export function Link({ to, children }: { to: string; children: ReactNode }) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <Anchor href={BASE + to} onClick={onClick}>
      {children}
    </Anchor>
  );
}
