// A StrykerJS ignorer plugin, used by stryker.config.mjs.
import { PluginKind, declareValuePlugin } from "@stryker-mutator/api/plugin";

/**
 * Error messages are words for people. Tests check the words that matter (what a user is told to
 * do), but requiring a test per wording would freeze every message, so string and template
 * literals that contain a space and are arguments of `new …Error(…)` are not mutated. Literals
 * without a space (reasons, codes, header names) and messages built outside an error constructor
 * (progress and retry messages, which tests read) are mutated as usual.
 */
const errorMessages = {
  shouldIgnore(path) {
    if (!path.isStringLiteral() && !path.isTemplateLiteral()) return undefined;
    const text = path.isStringLiteral()
      ? path.node.value
      : path.node.quasis.map((quasi) => quasi.value.cooked ?? "").join("");
    if (!/\s/.test(text)) return undefined;
    for (let current = path.parentPath; current; current = current.parentPath) {
      if (current.isNewExpression()) {
        const callee = current.node.callee;
        return callee.type === "Identifier" && callee.name.endsWith("Error")
          ? "The words of an error message (build/strykerErrorMessages.mjs)."
          : undefined;
      }
      if (current.isFunction() || current.isStatement()) return undefined;
    }
    return undefined;
  },
};

export const strykerPlugins = [declareValuePlugin(PluginKind.Ignore, "error-messages", errorMessages)];
