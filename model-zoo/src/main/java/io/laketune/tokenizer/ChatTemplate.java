package io.laketune.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import jinjava.javax.el.CompositeELResolver;

/**
 * A Hugging Face chat template, rendered with Jinjava as transformers' {@code
 * apply_chat_template(messages, tokenize=False)} renders it with Python's jinja2.
 *
 * <p>transformers compiles templates in {@code ImmutableSandboxedEnvironment(trim_blocks=True,
 * lstrip_blocks=True, extensions=[AssistantTracker, loopcontrols])} and renders them with {@code
 * messages}, {@code tools}, {@code documents}, {@code add_generation_prompt}, the tokenizer's
 * special tokens ({@code bos_token}, {@code eos_token}, ...) and any extra keyword arguments
 * ({@code enable_thinking}, {@code date_string}, ...). This class does the same; {@link
 * TemplateRewriter}, {@link PyStringMethods} and {@link Jinja2Library} close the gaps between
 * Jinjava and jinja2 that real templates hit.
 *
 * <p>Jinjava keeps rendering after an error and returns partial output; here any error fails the
 * render. Safe for concurrent use.
 */
public final class ChatTemplate {

  private static final Set<String> RESERVED = Set.of("messages", "add_generation_prompt");

  private final String source;
  private final String rewritten;
  private final Map<String, Object> specialTokens;
  private final Jinjava jinjava;

  /**
   * @param source the template text, as in tokenizer_config.json's chat_template
   * @param specialTokens variables every render gets: bos_token, eos_token, ... (may be empty)
   * @throws ChatTemplateException when the template uses a filter that does not exist here
   */
  public ChatTemplate(String source, Map<String, ?> specialTokens) {
    this.source = source;
    this.rewritten = TemplateRewriter.rewrite(source);
    this.specialTokens = Map.copyOf(specialTokens);
    CompositeELResolver resolver = new CompositeELResolver();
    resolver.add(new PyStringMethods());
    resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
    JinjavaConfig config =
        JinjavaConfig.newBuilder()
            .withTrimBlocks(true)
            // lstrip_blocks is done by TemplateRewriter: Jinjava's also strips spaces before a
            // tag in the middle of a line.
            .withLstripBlocks(false)
            // A message that contains "{{ ... }}" is text, not a template to render again.
            .withNestedInterpretationEnabled(false)
            .withElResolver(resolver)
            .withExecutionMode(new PyOutput())
            .withLegacyOverrides(
                LegacyOverrides.newBuilder()
                    .withUseTrimmingForNotesAndExpressions(true)
                    .withUseNaturalOperatorPrecedence(true)
                    .withParseWhitespaceControlStrictly(true)
                    .withKeepNullableLoopValues(true)
                    .withIterateOverMapKeys(true)
                    .build())
            .build();
    this.jinjava = new Jinjava(config);
    Jinja2Library.register(jinjava.getGlobalContext());
    for (String filter : TemplateRewriter.filterNames(rewritten)) {
      if (jinjava.getGlobalContext().getFilter(filter) == null) {
        throw new ChatTemplateException(
            "The chat template uses the filter '" + filter + "', which laketune cannot render.",
            null);
      }
    }
  }

  /** The template text as given. */
  public String source() {
    return source;
  }

  /** Renders the conversation, like {@code apply_chat_template(messages, tokenize=False)}. */
  public String render(List<Map<String, Object>> messages, boolean addGenerationPrompt) {
    return render(messages, addGenerationPrompt, Map.of());
  }

  /**
   * Renders the conversation with extra template variables, like the keyword arguments of
   * {@code apply_chat_template} ({@code enable_thinking=False}, {@code tools=[...]}, ...).
   *
   * @throws ChatTemplateException when the template calls raise_exception (the conversation does
   *     not fit the template: roles not alternating, a system message where none is allowed...)
   *     or fails to render
   */
  public String render(
      List<Map<String, Object>> messages, boolean addGenerationPrompt, Map<String, ?> extra) {
    for (String key : extra.keySet()) {
      if (RESERVED.contains(key)) {
        throw new IllegalArgumentException(
            "'" + key + "' is an argument of render, not an extra template variable.");
      }
    }
    Map<String, Object> bindings = new HashMap<>(specialTokens);
    bindings.putAll(extra);
    bindings.put("messages", messages);
    bindings.put("add_generation_prompt", addGenerationPrompt);
    RenderResult result = jinjava.renderForResult(rewritten, bindings);
    if (!result.getErrors().isEmpty()) {
      throw failure(result.getErrors());
    }
    return result.getOutput();
  }

  private static ChatTemplateException failure(List<TemplateError> errors) {
    for (TemplateError error : errors) {
      for (Throwable t = error.getException(); t != null; t = t.getCause()) {
        if (t instanceof Jinja2Library.TemplateRaisedException) {
          return new ChatTemplateException(
              "The chat template rejected the conversation: " + t.getMessage(), t);
        }
      }
    }
    TemplateError first = errors.get(0);
    return new ChatTemplateException(
        "The chat template failed at line "
            + first.getLineno()
            + ": "
            + first.getMessage()
            + (errors.size() > 1 ? " (and " + (errors.size() - 1) + " more errors)" : ""),
        first.getException());
  }
}
