import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/**",
      "dist/**",
      "out/**",
      ".cache/**",
      ".stryker-tmp/**",
      "reports/**",
      "gpu-check-out/**",
    ],
  },
  js.configs.recommended,
  {
    files: ["build/**/*.mjs"],
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        Buffer: "readonly",
        URL: "readonly",
        setTimeout: "readonly",
      },
    },
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // `f(...items)` puts every item on the stack: past about 100,000 items it throws
    // "Maximum call stack size exceeded" (a long question did). Loop instead.
    files: ["src/**/*.{ts,tsx}"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression > SpreadElement, NewExpression > SpreadElement",
          message:
            "Spread arguments overflow the stack for long arrays: use appendAll, maxOf or minOf from src/shared/arrays.ts.",
        },
      ],
    },
  },
  {
    // The window's code runs in the browser and talks to the rest only through the contract in
    // src/shared: no Node, no Electron, nothing from the engine or the main process, not even types.
    files: ["src/renderer/**/*.{ts,tsx}"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [
            { name: "electron", message: "The renderer talks to the main process only through window.duet." },
          ],
          patterns: [
            { group: ["node:*"], message: "The renderer runs in the browser." },
            {
              group: ["**/engine/**", "**/main/**", "**/preload/**"],
              message: "Import the contract from src/shared.",
            },
          ],
        },
      ],
    },
  },
  {
    // The sandboxed preload: Electron's renderer modules and src/shared only.
    files: ["src/preload/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["node:*", "**/engine/**", "**/main/**", "**/renderer/**"],
              message: "The preload uses only electron and src/shared.",
            },
          ],
        },
      ],
    },
  },
  {
    // Shared code runs in every process (Node, the sandboxed preload, the browser): it imports zod
    // and other files of src/shared only. It is the contract; the engine implements it.
    files: ["src/shared/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["node:*", "electron", "**/engine/**", "**/main/**", "**/renderer/**", "**/preload/**"],
              message: "src/shared runs in every process and depends on nothing but zod.",
            },
          ],
        },
      ],
    },
  },
  {
    // The engine runs in plain Node: it must never import Electron.
    files: ["src/engine/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { paths: [{ name: "electron", message: "src/engine must not import Electron." }] },
      ],
    },
  },
);
