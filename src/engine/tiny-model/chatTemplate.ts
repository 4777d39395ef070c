/**
 * The project's own ChatML chat template with Qwen3-style thinking, written for generated test
 * models. Duet builds prompts as token arrays itself; the template is what a GGUF carries so that
 * family detection and other tools see a realistic file.
 */
export const TINY_CHATML_THINKING_TEMPLATE = [
  "{%- for message in messages -%}",
  "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' -}}",
  "{%- endfor -%}",
  "{%- if add_generation_prompt -%}",
  "{{- '<|im_start|>assistant\\n' -}}",
  "{%- if enable_thinking is defined and enable_thinking is false -%}",
  "{{- '<think>\\n\\n</think>\\n\\n' -}}",
  "{%- endif -%}",
  "{%- endif -%}",
].join("");
