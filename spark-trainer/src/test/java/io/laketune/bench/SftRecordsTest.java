package io.laketune.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class SftRecordsTest {

  @Test
  void faqSectionsBecomeQuestionAnswerRecords() {
    List<String> text = List.of(
        "The Debian GNU/Linux FAQ",
        "1. Definitions and overview",
        "    1.1. What is this FAQ?",
        "    1.2. What is Debian GNU/Linux?",
        "",
        "Chapter\u00A01.\u00A0Definitions and overview",
        "",
        "1.1.\u00A0What is this FAQ?",
        "",
        "    This document gives frequently asked",
        "\u00A0\u00A0\u00A0 questions.",
        "",
        "      * full featured",
        "",
        "9.6.\u00A0I have several machines; how can I download the updates only",
        "one time?",
        "",
        "    Use a proxy.",
        "12.2.\u00A0Are there any on-line resources?",
        "",
        "12.2.1.\u00A0Mailing lists",
        "",
        "    There are many.",
        "",
        "Chapter\u00A016.\u00A0General information about the FAQ",
        "",
        "    Chapter text without a numbered section.");
    List<SftRecords.Record> records = SftRecords.debianFaq(text);
    assertEquals(List.of(
        new SftRecords.Record("Question: What is this FAQ?\nAnswer:", " This document gives frequently asked questions.\n\n* full featured"),
        new SftRecords.Record("Question: I have several machines; how can I download the updates only one time?\nAnswer:", " Use a proxy."),
        new SftRecords.Record("Question: Mailing lists\nAnswer:", " There are many.")), records);
  }
}
