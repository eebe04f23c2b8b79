package io.laketune.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Prompt/completion records at their natural lengths for the SFT-epoch benchmark, from the plain-text
 * Debian FAQ (Debian's {@code /usr/share/doc/debian/FAQ/debian-faq.en.txt.gz}): every numbered section
 * ("N.M. Question?" at the start of a line, possibly continued on the next unindented line) becomes
 * one record, prompt = "Question: ...\nAnswer:", completion = " " + its answer, paragraphs kept apart
 * by a blank line and each paragraph's lines joined. The indented table of contents, the chapter
 * headings and sections without text of their own (their text is in their subsections) give none.
 */
public final class SftRecords {
  /** One record: the trained text is the completion. */
  public record Record(String prompt, String completion) {}

  private static final Pattern SECTION = Pattern.compile("^(\\d+(?:\\.\\d+)+)\\.\\s+(\\S.*)$");

  private SftRecords() {}

  /** The FAQ's sections as records, in document order; {@code lines} is the whole text. */
  public static List<Record> debianFaq(List<String> lines) {
    List<Record> out = new ArrayList<>();
    String question = null;
    List<String> paragraphs = new ArrayList<>();
    StringBuilder para = new StringBuilder();
    boolean inHeading = false;
    for (String raw : lines) {
      String line = raw.replace('\u00A0', ' ').stripTrailing();
      Matcher m = SECTION.matcher(line);
      boolean chapter = line.startsWith("Chapter ");
      if (m.matches() || chapter) {
        add(out, question, paragraphs, para);
        question = m.matches() ? m.group(2) : null;
        inHeading = question != null;
        continue;
      }
      if (question == null) continue;
      if (inHeading && !line.isEmpty() && !Character.isWhitespace(line.charAt(0))) {
        question = question + " " + line;  // a heading that wraps onto a second line
        continue;
      }
      inHeading = false;
      if (line.isBlank()) {
        endParagraph(paragraphs, para);
      } else {
        if (para.length() > 0) para.append(' ');
        para.append(line.strip());
      }
    }
    add(out, question, paragraphs, para);
    return out;
  }

  private static void endParagraph(List<String> paragraphs, StringBuilder para) {
    if (para.length() > 0) paragraphs.add(para.toString());
    para.setLength(0);
  }

  private static void add(List<Record> out, String question, List<String> paragraphs, StringBuilder para) {
    endParagraph(paragraphs, para);
    if (question != null && !paragraphs.isEmpty()) {
      out.add(new Record("Question: " + question + "\nAnswer:", " " + String.join("\n\n", paragraphs)));
    }
    paragraphs.clear();
  }
}
