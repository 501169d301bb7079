import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The repository root (this file is test/docs/markdown.ts). */
export const ROOT = new URL("../../", import.meta.url).pathname;

/** README.md and every docs/*.md, as paths relative to the root. */
export function markdownFiles(): string[] {
  return [
    "README.md",
    ...readdirSync(join(ROOT, "docs"))
      .filter((f) => f.endsWith(".md"))
      .map((f) => `docs/${f}`),
  ];
}

/** A fenced code block: its info string (`sh`, `sh no-test`, `text`, ...), its text and its first line. */
export interface CodeBlock {
  info: string;
  text: string;
  line: number;
}

/** The fenced blocks of a markdown text, in order. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  let open: { info: string; line: number; lines: string[] } | null = null;
  markdown.split("\n").forEach((line, i) => {
    const fence = /^```(.*)$/.exec(line);
    if (!open) {
      if (fence) open = { info: (fence[1] ?? "").trim(), line: i + 1, lines: [] };
    } else if (fence && (fence[1] ?? "").trim() === "") {
      blocks.push({ info: open.info, text: open.lines.join("\n"), line: open.line });
      open = null;
    } else open.lines.push(line);
  });
  return blocks;
}

/** Whether a block is a shell example the README test runs: `sh`/`bash`/`shell` without `no-test`. */
export function isRunnable(block: CodeBlock): boolean {
  const [lang, ...flags] = block.info.split(/\s+/);
  return ["sh", "bash", "shell"].includes(lang ?? "") && !flags.includes("no-test");
}

/** Reads a file relative to the root. */
export function read(path: string): string {
  return readFileSync(join(ROOT, path), "utf8");
}
