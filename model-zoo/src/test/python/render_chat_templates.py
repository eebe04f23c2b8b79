"""Renders the chat cases and template snippets of cases.json with Python's jinja2, the way
transformers' apply_chat_template(tokenize=False) renders chat templates, into
src/test/resources/tokenizers/jinja2_renders.json: the ground truth for ChatTemplate's tests.

    apt-get install python3-jinja2 && /usr/bin/python3 model-zoo/src/test/python/render_chat_templates.py

The environment copies transformers' _compile_jinja_template (utils/chat_template_utils.py):
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the loopcontrols
extension, an AssistantTracker-like {% generation %} tag, tojson = json.dumps(ensure_ascii=False),
raise_exception and strftime_now. Rendering passes messages, tools=None, documents=None,
add_generation_prompt, the tokenizer's special tokens and the case's extra kwargs.
"""
import json
import pathlib
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.exceptions import TemplateError
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = pathlib.Path(__file__).resolve().parent
FIXTURES = HERE.parent / "resources" / "tokenizers"
TOKEN_KEYS = ("bos_token", "eos_token", "unk_token", "pad_token")


class AssistantTracker(Extension):
    """transformers' {% generation %} tag without the index tracking: renders its body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        call = self.call_method("_render", [])
        return nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def environment():
    def raise_exception(message):
        raise TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(
            x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
        )

    def strftime_now(format):
        return datetime.now().strftime(format)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def special_tokens(config):
    """tokenizer.special_tokens_map: the special tokens that are set, as strings."""
    out = {}
    for key in TOKEN_KEYS:
        value = config.get(key)
        if isinstance(value, dict):
            value = value["content"]
        if value is not None:
            out[key] = value
    extra = config.get("additional_special_tokens")
    if extra:
        out["additional_special_tokens"] = [t["content"] if isinstance(t, dict) else t for t in extra]
    return out


def render(env, template, messages, add_generation_prompt, variables):
    variables = dict(variables)
    try:
        text = env.from_string(template).render(
            messages=messages,
            tools=variables.pop("tools", None),
            documents=variables.pop("documents", None),
            add_generation_prompt=add_generation_prompt,
            **variables,
        )
        return {"text": text}
    except TemplateError as e:
        return {"error": str(e)}


def main():
    cases = json.loads((FIXTURES / "cases.json").read_text(encoding="utf-8"))
    env = environment()
    out = {"generator": "render_chat_templates.py with jinja2 " + jinja2.__version__, "chats": {}}
    for tokenizer in sorted({t for chat in cases["chats"] for t in chat["tokenizers"]}):
        config = json.loads((FIXTURES / tokenizer / "tokenizer_config.json").read_text("utf-8"))
        rendered = {}
        for chat in cases["chats"]:
            if tokenizer in chat["tokenizers"]:
                variables = {**special_tokens(config), **chat.get("extra", {})}
                rendered[chat["name"]] = render(
                    env,
                    config["chat_template"],
                    chat["messages"],
                    chat["add_generation_prompt"],
                    variables,
                )
        out["chats"][tokenizer] = rendered
    snippets = {}
    for snippet in cases["snippets"]:
        variables = dict(snippet["vars"])
        messages = variables.pop("messages", cases["snippet_messages"])
        snippets[snippet["name"]] = render(env, snippet["template"], messages, False, variables)
    out["snippets"] = snippets
    target = FIXTURES / "jinja2_renders.json"
    target.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print("wrote", target)


if __name__ == "__main__":
    main()
