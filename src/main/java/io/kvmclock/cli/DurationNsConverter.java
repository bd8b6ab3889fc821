package io.kvmclock.cli;

import io.kvmclock.drift.Durations;
import java.util.function.ToLongFunction;
import picocli.CommandLine;

/**
 * Nanosecond options (200us, 50ms, 1s500ms, 1h30m) through the one duration parser, io.kvmclock.drift.Durations;
 * each option checks its own range in the command with {@link Inputs#boundedNs}, naming the option.
 */
final class DurationNsConverter implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        return read(value, Durations::parseNs);
    }

    /** {@code parse} of {@code value}, its one-line reason as picocli's conversion error (exit 2, naming the option). */
    static Long read(String value, ToLongFunction<String> parse) {
        try {
            return parse.applyAsLong(value);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }

    /**
     * The same syntax, and also a bare whole number read as ns: for options that are a count of ns and took
     * bare numbers before they took units (drift policy --max-jump, seed004 --target, --precise-bound).
     */
    static final class OrBareNs implements CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            String v = value.trim();
            boolean bare = !v.isEmpty() && v.chars().allMatch(c -> c >= '0' && c <= '9');
            try {
                return Durations.parseNs(bare ? v + "ns" : v);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage() + " (or a bare number of ns, e.g. 1000)");
            }
        }
    }
}
