import { Center, Loader } from "@mantine/core";
import { Component, type ReactNode, Suspense } from "react";
import { ErrorState } from "./ErrorState.tsx";

/**
 * Around a lazily loaded page: a loader while its code arrives, and, when it cannot arrive (the
 * server was upgraded and the old build's files are gone, or the network failed), the error with
 * a Retry that reloads the console, instead of a blank page.
 */
export function PageBoundary({ children }: { children: ReactNode }) {
  return (
    <LoadFailure>
      <Suspense
        fallback={
          <Center p="xl">
            <Loader aria-label="loading" />
          </Center>
        }
      >
        {children}
      </Suspense>
    </LoadFailure>
  );
}

class LoadFailure extends Component<{ children: ReactNode }, { error: unknown }> {
  state = { error: undefined as unknown };

  static getDerivedStateFromError(error: unknown) {
    return { error };
  }

  render() {
    if (this.state.error === undefined) return this.props.children;
    return (
      <ErrorState
        error={this.state.error}
        title="This page could not be loaded"
        onRetry={() => window.location.reload()}
      />
    );
  }
}
