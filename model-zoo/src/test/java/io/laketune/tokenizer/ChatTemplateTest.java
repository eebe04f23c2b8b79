package io.laketune.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What the jinja2 parity fixtures cannot pin: failures that Jinjava would swallow, the rewrites
 * themselves, the clock, and json.dumps options.
 */
class ChatTemplateTest {

  private static final List<Map<String, Object>> ONE =
      List.of(Map.of("role", "user", "content", "hi"));

  @Test
  void errorsFailTheRenderInsteadOfReturningPartialOutput() {
    for (String broken :
        new String[] {
          "before {{ messages[0].content.no_such_method() }} after",
          "before {% if %} after",
          "{{ 'a'.split('') }}"
        }) {
      ChatTemplateException e =
          assertThrows(
              ChatTemplateException.class,
              () -> new ChatTemplate(broken, Map.of()).render(ONE, false),
              broken);
      assertTrue(e.getMessage().startsWith("The chat template failed at line 1"), e.getMessage());
    }
  }

  @Test
  void unknownFiltersAreRejectedUpFrontAsJinja2Does() {
    ChatTemplateException e =
        assertThrows(
            ChatTemplateException.class,
            () -> new ChatTemplate("{{ messages | no_such_filter }}", Map.of()));
    assertTrue(e.getMessage().contains("'no_such_filter'"), e.getMessage());
  }

  @Test
  void raiseExceptionCarriesTheTemplatesMessage() {
    ChatTemplate template =
        new ChatTemplate("{{ raise_exception('System role not supported') }}", Map.of());
    ChatTemplateException e =
        assertThrows(ChatTemplateException.class, () -> template.render(ONE, false));
    assertEquals(
        "The chat template rejected the conversation: System role not supported", e.getMessage());
  }

  @Test
  void specialTokensAndExtraVariablesReachTheTemplate() {
    ChatTemplate template =
        new ChatTemplate(
            "{{ bos_token }}{% if add_generation_prompt %}G{% endif %}{{ date_string }}",
            Map.of("bos_token", "<s>"));
    assertEquals("<s>G26 Jul 2024", template.render(ONE, true, Map.of("date_string", "26 Jul 2024")));
    assertEquals("<s>", template.render(ONE, false));
  }

  @Test
  void strftimeNowUsesTheLocalClock() {
    ChatTemplate template = new ChatTemplate("{{ strftime_now('%Y-%m-%d') }}", Map.of());
    String before = PyStrftime.format("%Y-%m-%d", ZonedDateTime.now());
    String rendered = template.render(ONE, false);
    String after = PyStrftime.format("%Y-%m-%d", ZonedDateTime.now());
    assertTrue(rendered.equals(before) || rendered.equals(after), rendered);
  }

  @Test
  void strftimeMatchesPython() {
    // datetime(2024, 7, 5, 9, 3, 7).strftime(...) in Python on Linux.
    ZonedDateTime t = ZonedDateTime.of(2024, 7, 5, 9, 3, 7, 0, ZoneId.of("UTC"));
    assertEquals("05 Jul 2024", PyStrftime.format("%d %b %Y", t));
    assertEquals("5 July 2024", PyStrftime.format("%-d %B %Y", t));
    assertEquals("Friday Fri 5 09:03:07 AM 09 187 24 07 %", PyStrftime.format("%A %a %w %H:%M:%S %p %I %j %y %m %%", t));
    assertEquals("26 27 2024-07-05", PyStrftime.format("%U %W %F", t));
  }

  @Test
  void rewriterTouchesOnlyWhatJinjavaParsesDifferently() {
    assertEquals(
        "{% for m in (messages|pyslice(none, none, -1)) %}",
        TemplateRewriter.rewrite("{% for m in messages[::-1] %}"));
    assertEquals(
        "{{ (a.b[0]|pyslice(1, none, 2)) }}", TemplateRewriter.rewrite("{{ a.b[0][1::2] }}"));
    assertEquals(
        "{% set ns = namespace(x=true, i=(messages|length - 1)) %}",
        TemplateRewriter.rewrite("{% set ns = namespace(x=true, i=messages|length - 1) %}"));
    // Text, string literals, comments, raw blocks and macro signatures stay as they are.
    String untouched =
        "[::-1] f(a=b - 1) {{ '[::-1]' }} {# x[::-1] #}{% raw %}{{ x[::-1] }}{% endraw %}"
            + "{% macro m(a=1 + 1) %}{% endmacro %}";
    assertEquals(untouched, TemplateRewriter.rewrite(untouched));
  }

  @Test
  void rewriterAppliesLstripBlocksAndDropsTheLastNewline() {
    assertEquals("a\n{% if x %}\n  b {% endif %}", TemplateRewriter.rewrite("a\n  {% if x %}\n  b {% endif %}\n"));
    assertEquals("a\n  {% if x %}", TemplateRewriter.rewrite("a\n  {%+ if x %}"));
    assertEquals("x\ny\n", TemplateRewriter.rewrite("x\r\ny\r\n\r\n"));
  }

  @Test
  void tojsonOptions() {
    Map<String, Object> value = new java.util.LinkedHashMap<>();
    value.put("b", List.of(1, "ü"));
    value.put("a", null);
    assertEquals("{\"b\": [1, \"ü\"], \"a\": null}", new PyJson(false, null, null, false).dumps(value));
    assertEquals(
        "{\"a\":null,\"b\":[1,\"\\u00fc\"]}",
        new PyJson(true, null, List.of(",", ":"), true).dumps(value));
    assertEquals("1e-05 100.0 1e+16 -0.5", String.join(" ",
        PyJson.pythonFloat(1e-5), PyJson.pythonFloat(100), PyJson.pythonFloat(1e16),
        PyJson.pythonFloat(-0.5)));
  }
}
