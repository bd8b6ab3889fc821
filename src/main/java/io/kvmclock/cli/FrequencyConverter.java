package io.kvmclock.cli;

import java.math.BigDecimal;
import java.util.Locale;
import picocli.CommandLine;

/**
 * Reads a TSC frequency into whole kHz: "2596138" (kHz), "2596138kHz", "2596.138MHz", "2.596138GHz".
 * Exact decimal parsing: a value that is not a whole number of kHz is refused, not rounded.
 */
final class FrequencyConverter implements CommandLine.ITypeConverter<Long> {
    static final long MIN_KHZ = 1_000;
    static final long MAX_KHZ = 10_000_000;

    @Override
    public Long convert(String value) {
        return parseKhz(value);
    }

    static long parseKhz(String value) {
        return parseKhz(value, MIN_KHZ, MAX_KHZ);
    }

    /** A sweep step (drift policy/seed004 --step): the same syntax from 1 kHz, the finest tsc_khz step, up. */
    static final class Step implements CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            return parseKhz(value, 1, MAX_KHZ);
        }
    }

    /** A sweep FROM-TO of two frequencies, the lower first (drift policy --range). */
    record Range(long fromKhz, long toKhz) {}

    /** Reads FROM-TO, each side in this syntax: 1GHz-5GHz, 2500000-2700000. */
    static final class RangeConverter implements CommandLine.ITypeConverter<Range> {
        @Override
        public Range convert(String value) {
            String[] parts = value.split("-");
            if (parts.length != 2) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not FROM-TO, e.g. 1GHz-5GHz");
            }
            Range r;
            try {
                r = new Range(parseKhz(parts[0]), parseKhz(parts[1]));
            } catch (CommandLine.TypeConversionException e) {
                throw new CommandLine.TypeConversionException("'" + value + "': " + e.getMessage());
            }
            if (r.toKhz() < r.fromKhz()) {
                throw new CommandLine.TypeConversionException("'" + value
                        + "' runs backwards: give the lower frequency first");
            }
            return r;
        }
    }

    /** As {@link #parseKhz(String)} within [min, max] kHz; digits are ASCII only, as in every duration. */
    static long parseKhz(String value, long min, long max) {
        String v = value.trim().toLowerCase(Locale.ROOT).replace("_", "");
        if (!v.chars().allMatch(c -> c < 0x80)) {
            throw new CommandLine.TypeConversionException("'" + Inputs.printable(value)
                    + "' is not a frequency: write it in ASCII digits, e.g. 2596138 or 2.596138GHz");
        }
        BigDecimal scale = BigDecimal.ONE;
        if (v.endsWith("ghz")) {
            scale = BigDecimal.valueOf(1_000_000);
            v = v.substring(0, v.length() - 3);
        } else if (v.endsWith("mhz")) {
            scale = BigDecimal.valueOf(1_000);
            v = v.substring(0, v.length() - 3);
        } else if (v.endsWith("khz")) {
            v = v.substring(0, v.length() - 3);
        }
        BigDecimal khz;
        try {
            khz = new BigDecimal(v.trim()).multiply(scale);
        } catch (NumberFormatException e) {
            throw new CommandLine.TypeConversionException("'" + value
                    + "' is not a frequency: give kHz (2596138) or a unit (2596.138MHz, 2.596138GHz)");
        }
        if (khz.stripTrailingZeros().scale() > 0) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a whole number of kHz (tsc_khz is an integer)");
        }
        if (khz.compareTo(BigDecimal.valueOf(min)) < 0 || khz.compareTo(BigDecimal.valueOf(max)) > 0) {
            throw new CommandLine.TypeConversionException("'" + value + "' is out of range: a TSC frequency from "
                    + min + " kHz to " + max + " kHz (" + BigDecimal.valueOf(max, 6).stripTrailingZeros().toPlainString() + " GHz)");
        }
        return khz.longValueExact();
    }
}
