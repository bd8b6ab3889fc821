package io.kvmclock.cli;

import io.kvmclock.drift.Durations;
import picocli.CommandLine;

/** Whole-second options (40h, 1250s, 90m, 2d, 1h30m) through the one duration parser, io.kvmclock.drift.Durations. */
final class DurationConverter implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        return DurationNsConverter.read(value, Durations::parseSeconds);
    }
}
