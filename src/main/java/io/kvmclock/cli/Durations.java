package io.kvmclock.cli;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations for options: 50ms, 2s, 90m, 40h, 2d, and sums like 1h30m. */
final class Durations {
    private Durations() {}

    private static final Pattern PART = Pattern.compile("(\\d+)(ns|us|ms|s|m|h|d)");

    static long parseNs(String text, String option) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        Matcher m = PART.matcher(t);
        long total = 0;
        int at = 0;
        while (at < t.length() && m.find(at) && m.start() == at) {
            long n = Long.parseLong(m.group(1));
            long unit = switch (m.group(2)) {
                case "ns" -> 1L;
                case "us" -> 1_000L;
                case "ms" -> 1_000_000L;
                case "s" -> 1_000_000_000L;
                case "m" -> 60_000_000_000L;
                case "h" -> 3_600_000_000_000L;
                default -> 86_400_000_000_000L;
            };
            try {
                total = Math.addExact(total, Math.multiplyExact(n, unit));
            } catch (ArithmeticException e) {
                throw UserError.badInput(option + " '" + text + "' is too long");
            }
            at = m.end();
        }
        if (t.isEmpty() || at != t.length()) {
            throw UserError.badInput(option + " '" + text + "' is not a duration: use e.g. 50ms, 2s, 90m, 40h, 2d or 1h30m");
        }
        return total;
    }
}
