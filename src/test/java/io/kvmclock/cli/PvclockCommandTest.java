package io.kvmclock.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TimeScale;
import org.junit.jupiter.api.Test;

class PvclockCommandTest {
    private static final PvclockTimeInfo SAMPLE = PvclockTimeInfo.of(2, 117_834_748_702L, 1_046_223_770L,
            TimeScale.forGuestKhz(2_600_000), PvclockTimeInfo.FLAG_TSC_STABLE);

    @Test
    void decodesAndEvaluatesAtATsc() {
        long tsc = 117_834_748_702L + 2_600_000_000L;
        CliRun r = CliRun.of("pvclock", "decode", SAMPLE.toHex(), "--tsc", Long.toString(tsc), "--json");
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        JsonNode j = r.json();
        assertEquals(2, j.get("version").asInt());
        assertEquals(117_834_748_702L, j.get("tscTimestamp").asLong());
        assertEquals(SAMPLE.mul(), j.get("mul").asLong());
        assertEquals(-1, j.get("shift").asInt());
        assertTrue(j.get("tscStable").asBoolean());
        assertEquals(2_600_000_000L, j.get("tscHz").asLong());
        assertEquals(SAMPLE.read(tsc), j.get("kvmclockNs").asLong());
    }

    @Test
    void acceptsHexdumpStyleInput() {
        String hex = SAMPLE.toHex();
        String spaced = "0x" + hex.substring(0, 16) + " " + hex.substring(16, 32) + ":" + hex.substring(32) + "\n";
        CliRun r = CliRun.of("pvclock", "decode", spaced, "--tsc", "0x1b6b8d2f1e");
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        assertTrue(r.out().contains("TSC_STABLE"), r.out());
    }

    @Test
    void wrongLengthIsBadInput() {
        CliRun r = CliRun.of("pvclock", "decode", SAMPLE.toHex().substring(2));
        assertEquals(ExitCode.BAD_INPUT, r.exitCode());
        assertTrue(r.errLine().contains("64 hex digits; got 62"), r.err());
    }

    @Test
    void nonHexIsBadInput() {
        String bad = "zz" + SAMPLE.toHex().substring(2);
        CliRun r = CliRun.of("pvclock", "decode", bad);
        assertEquals(ExitCode.BAD_INPUT, r.exitCode());
        assertTrue(r.errLine().contains("'z' at digit 1 is not a hex digit"), r.err());
    }

    @Test
    void nonZeroPad0IsBadInput() {
        String hex = SAMPLE.toHex();
        String bad = hex.substring(0, 8) + "01000000" + hex.substring(16);
        CliRun r = CliRun.of("pvclock", "decode", bad);
        assertEquals(ExitCode.BAD_INPUT, r.exitCode());
        assertTrue(r.errLine().contains("pad0"), r.err());
    }

    @Test
    void nonZeroTrailingPadIsBadInput() {
        String hex = SAMPLE.toHex();
        String bad = hex.substring(0, 60) + "0001";
        CliRun r = CliRun.of("pvclock", "decode", bad);
        assertEquals(ExitCode.BAD_INPUT, r.exitCode());
        assertTrue(r.errLine().contains("pad (bytes 30-31)"), r.err());
    }

    @Test
    void badTscIsBadInput() {
        CliRun r = CliRun.of("pvclock", "decode", SAMPLE.toHex(), "--tsc", "12x");
        assertEquals(ExitCode.BAD_INPUT, r.exitCode());
        assertTrue(r.errLine().contains("'12x'"), r.err());
    }
}
