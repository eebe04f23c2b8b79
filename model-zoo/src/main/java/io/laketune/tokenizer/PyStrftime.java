package io.laketune.tokenizer;

import java.time.DayOfWeek;
import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.time.temporal.ChronoField;
import java.util.Locale;

/**
 * Python's {@code datetime.strftime} in the C locale, for the {@code strftime_now(format)} that
 * transformers gives chat templates (Llama 3.1+ writes "Today Date: 26 Jul 2024" with
 * {@code strftime_now("%d %b %Y")}). Includes glibc's {@code %-d} (no padding), which templates
 * use because Python on Linux passes it through to the C library.
 */
final class PyStrftime {

  private PyStrftime() {}

  static String format(String pattern, ZonedDateTime t) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < pattern.length(); i++) {
      char c = pattern.charAt(i);
      if (c != '%' || i + 1 >= pattern.length()) {
        out.append(c);
        continue;
      }
      char d = pattern.charAt(++i);
      boolean pad = true;
      if (d == '-' && i + 1 < pattern.length()) {
        pad = false;
        d = pattern.charAt(++i);
      }
      String field = field(d, t);
      if (field == null) {
        out.append('%').append(pad ? "" : "-").append(d);
      } else {
        out.append(pad ? field : stripZeros(field));
      }
    }
    return out.toString();
  }

  private static String field(char d, ZonedDateTime t) {
    int hour12 = t.getHour() % 12 == 0 ? 12 : t.getHour() % 12;
    return switch (d) {
      case 'a' -> t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.US);
      case 'A' -> t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.US);
      case 'w' -> Integer.toString(t.getDayOfWeek().getValue() % 7);
      case 'd' -> two(t.getDayOfMonth());
      case 'e' -> String.format("%2d", t.getDayOfMonth());
      case 'b', 'h' -> t.getMonth().getDisplayName(TextStyle.SHORT, Locale.US);
      case 'B' -> t.getMonth().getDisplayName(TextStyle.FULL, Locale.US);
      case 'm' -> two(t.getMonthValue());
      case 'y' -> two(t.getYear() % 100);
      case 'Y' -> Integer.toString(t.getYear());
      case 'H' -> two(t.getHour());
      case 'I' -> two(hour12);
      case 'p' -> t.getHour() < 12 ? "AM" : "PM";
      case 'M' -> two(t.getMinute());
      case 'S' -> two(t.getSecond());
      case 'f' -> String.format("%06d", t.get(ChronoField.MICRO_OF_SECOND));
      case 'j' -> String.format("%03d", t.getDayOfYear());
      case 'U' -> two(weekOfYear(t, DayOfWeek.SUNDAY));
      case 'W' -> two(weekOfYear(t, DayOfWeek.MONDAY));
      case 'z' -> t.getOffset().getId().equals("Z") ? "+0000" : t.getOffset().getId().replace(":", "");
      case 'Z' -> t.getZone().getDisplayName(TextStyle.SHORT, Locale.US);
      case 'c' -> format("%a %b %e %H:%M:%S %Y", t);
      case 'x' -> format("%m/%d/%y", t);
      case 'X' -> format("%H:%M:%S", t);
      case 'D' -> format("%m/%d/%y", t);
      case 'F' -> format("%Y-%m-%d", t);
      case 'T' -> format("%H:%M:%S", t);
      case '%' -> "%";
      default -> null;
    };
  }

  /** Week number with weeks starting on firstDay; days before the first such day are week 0. */
  private static int weekOfYear(ZonedDateTime t, DayOfWeek firstDay) {
    int dayOfYear = t.getDayOfYear() - 1;
    int weekday = (t.getDayOfWeek().getValue() - firstDay.getValue() + 7) % 7;
    return (dayOfYear - weekday + 7) / 7;
  }

  private static String two(int n) {
    return String.format("%02d", n);
  }

  private static String stripZeros(String field) {
    String stripped = field.replaceFirst("^[0 ]+(?=.)", "");
    return stripped;
  }
}
