package io.kvmclock.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmclock.time.Clocksource;
import io.kvmclock.time.Drift;
import io.kvmclock.time.TimeScale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TimescaleCommandTest {

    @Test
    void jsonHasTheDocumentedKeysAndKernelValues() {
        CliRun r = CliRun.of("timescale", "--tsc-khz", "2600000", "--json");
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        JsonNode j = r.json();
        assertEquals(2600000, j.get("tscKhz").asLong());
        assertEquals(TimeScale.forGuestKhz(2600000).mul(), j.at("/pvclock/mul").asLong());
        assertEquals(-1, j.at("/pvclock/shift").asInt());
        assertEquals(Clocksource.forTscKhz(2600000).mult(), j.at("/clocksource/mult").asLong());
        assertEquals(Clocksource.forTscKhz(2600000).shift(), j.at("/clocksource/shift").asInt());
        assertEquals(2600000000L, j.get("recoveredHz").asLong());
        assertTrue(j.get("driftPpb").isNumber());
        assertEquals(Drift.forTscKhz(2600000).stepAfterSeconds(86_400), j.get("jumpNsPerDay").asLong());
        assertTrue(j.get("jumpNsPerDay").asLong() < 0, "this host's guest clock steps backwards");
    }

    @Test
    void unitsAreAccepted() {
        JsonNode a = CliRun.of("timescale", "--tsc-khz", "2.9952GHz", "--json").json();
        JsonNode b = CliRun.of("timescale", "--tsc-khz", "2995200", "--json").json();
        assertEquals(b, a);
        assertEquals(5601368, a.at("/clocksource/mult").asLong());
        assertEquals(TimeScale.forGuestKhz(2995200).mul(), a.at("/pvclock/mul").asLong());
    }

    @Test
    void textIsAnAlignedTableWithUnits() {
        CliRun r = CliRun.of("timescale", "--tsc-khz", "2600000");
        assertEquals(ExitCode.OK, r.exitCode());
        assertTrue(r.out().contains(Long.toString(TimeScale.forGuestKhz(2600000).mul())), r.out());
        assertTrue(r.out().contains("ppb"), r.out());
        assertTrue(r.out().contains("BACKWARD"), r.out());
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "999", "10000001", "abc", "2.5kHz", "-5", "20GHz"})
    void badFrequenciesAreBadInputInOneLine(String freq) {
        CliRun r = CliRun.of("timescale", "--tsc-khz", freq);
        assertEquals(ExitCode.BAD_INPUT, r.exitCode());
        assertTrue(r.errLine().startsWith("kvmclock: "), r.err());
        assertTrue(r.errLine().contains(freq), r.err());
        assertTrue(!r.err().contains("\tat "), "no stack trace: " + r.err());
    }

    @Test
    void missingOptionIsBadInput() {
        CliRun r = CliRun.of("timescale");
        assertEquals(ExitCode.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("--tsc-khz"), r.err());
    }
}
