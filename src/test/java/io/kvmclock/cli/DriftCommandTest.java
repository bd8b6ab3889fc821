package io.kvmclock.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmclock.drift.DriftPredictor;
import io.kvmclock.drift.RefreshPolicy;
import io.kvmclock.kvm.KvmHypervisor;
import io.kvmclock.sim.SimHostConfig;
import io.kvmclock.sim.SimHypervisor;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DriftCommandTest {

    @Test
    void jsonHasTheDocumentedKeys() {
        CliRun r = CliRun.of("drift", "--tsc-khz", "2600000", "--since", "40h", "--json");
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        JsonNode j = r.json();
        assertEquals(2600000, j.get("tscKhz").asLong());
        assertEquals(144_000, j.get("sinceSeconds").asLong());
        assertEquals(144_000L * 2600000 * 1000, j.get("cycles").asLong());
        assertEquals(DriftPredictor.stepAfterSeconds(2600000, 144_000), j.get("predictedJumpNs").asLong());
        assertEquals("backward", j.get("direction").asText());
        assertTrue(j.get("driftPpb").isNumber());
        assertTrue(j.get("stableGuestSeesTimeGoBackwards").asBoolean());
    }

    @Test
    void combinedDurationsEqualTheirSum() {
        JsonNode a = CliRun.of("drift", "--tsc-khz", "2995200", "--since", "1h30m", "--json").json();
        JsonNode b = CliRun.of("drift", "--tsc-khz", "2995200", "--since", "5400s", "--json").json();
        assertEquals(b, a);
        assertEquals("forward", a.get("direction").asText());
    }

    @Test
    void textSaysWhichWayTheClockSteps() {
        CliRun r = CliRun.of("drift", "--tsc-khz", "2600000", "--since", "40h");
        assertEquals(ExitCode.OK, r.exitCode());
        assertTrue(r.out().contains("BACKWARD"), r.out());
        assertTrue(r.out().contains(String.format("%,d ns", DriftPredictor.stepAfterSeconds(2600000, 144_000))), r.out());
    }

    @ParameterizedTest
    @ValueSource(strings = {"40", "40x", "1.5h", "-3h", "h", "1h1h"})
    void badDurationsAreBadInputInOneLine(String since) {
        CliRun r = CliRun.of("drift", "--tsc-khz", "2600000", "--since", since);
        assertEquals(ExitCode.BAD_INPUT, r.exitCode());
        assertTrue(r.errLine().startsWith("kvmclock: ") && r.errLine().contains(since), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
    }

    @Test
    void sinceTakesSubSecondUnitsThatSumToWholeSecondsAndRefusesOthers() {
        JsonNode a = CliRun.of("drift", "--tsc-khz", "2995200", "--since", "1m1000ms", "--json").json();
        assertEquals(61, a.get("sinceSeconds").asLong());
        CliRun r = CliRun.of("drift", "--tsc-khz", "2600000", "--since", "1500ms");
        assertEquals(ExitCode.BAD_INPUT, r.exitCode());
        assertTrue(r.errLine().contains("1500ms") && r.errLine().contains("whole number of seconds"), r.err());
    }

    @Test
    void demoDowntimeUsesTheSameParser() {
        CliRun bad = CliRun.of("demo", "--backend", "sim", "--sim-host", "kvm-intel", "--downtime", "1.5s");
        assertEquals(ExitCode.BAD_INPUT, bad.exitCode());
        assertTrue(bad.errLine().contains("--downtime") && bad.errLine().contains("'1.5s'"), bad.err());
        CliRun ok = CliRun.of("demo", "--backend", "sim", "--sim-host", "kvm-intel", "--trials", "1", "--methods", "qemu", "--downtime", "1s50ms",
                "--json");
        assertEquals(ExitCode.OK, ok.exitCode(), ok.err());
        assertEquals(1_050_000_000L, ok.json().get("downtimeNs").asLong());
    }

    @Test
    void missingArgumentsAreBadInput() {
        CliRun r = CliRun.of("drift", "--tsc-khz", "2600000");
        assertEquals(ExitCode.BAD_INPUT, r.exitCode());
        assertTrue(r.errLine().contains("--since"), r.err());
    }

    @Test
    void measureWithoutKvmIsAnEnvironmentError() {
        var saved = Backends.source;
        try {
            Backends.source = () -> {
                throw new UserError(ExitCode.ENVIRONMENT,
                        KvmHypervisor.unavailableReason(Path.of("/nonexistent/kvm")).orElseThrow());
            };
            CliRun r = CliRun.of("drift", "--measure", "20s");
            assertEquals(ExitCode.ENVIRONMENT, r.exitCode());
            assertTrue(r.errLine().contains("/nonexistent/kvm"), r.err());
        } finally {
            Backends.source = saved;
        }
    }

    @Test
    void measureThroughTheSeamPrintsMeasurementBesidePrediction() {
        var saved = Backends.source;
        try {
            Backends.source = () -> SimHypervisor.create(SimHostConfig.pvmIntel202611(), 1);
            CliRun r = CliRun.of("drift", "--measure", "20s", "--json");
            assertEquals(ExitCode.OK, r.exitCode(), r.err());
            JsonNode j = r.json();
            assertEquals("tsc-offset", j.get("trigger").asText());
            assertTrue(j.get("newReference").asBoolean());
            assertEquals(j.get("measuredJumpNs").asLong() - j.get("predictedJumpNs").asLong(),
                    j.get("differenceNs").asLong());
            assertEquals(DriftPredictor.stepNs(SimHostConfig.pvmIntel202611().tscKhz(), j.get("hostCycles").asLong()), j.get("predictedJumpNs").asLong());
            assertTrue(Math.abs(j.get("differenceNs").asLong()) <= 2, j.toString());
            assertTrue(r.err().contains("waiting 20s") && r.err().contains("waited 20s of 20s"), r.err());
        } finally {
            Backends.source = saved;
        }
    }

    @Test
    void unknownTriggerIsBadInput() {
        CliRun r = CliRun.of("drift", "--measure", "20s", "--trigger", "reboot");
        assertEquals(ExitCode.BAD_INPUT, r.exitCode());
        assertTrue(r.errLine().contains("reboot"), r.err());
    }

    @Test
    void policyForOneFrequency() {
        CliRun r = CliRun.of("drift", "policy", "--max-jump", "1us", "--tsc-khz", "2600000", "--json");
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        JsonNode j = r.json();
        RefreshPolicy.Policy p = RefreshPolicy.longestPeriod(2600000, 1000);
        assertEquals(1000, j.get("maxJumpNs").asLong());
        assertEquals(p.periodSeconds().getAsLong(), j.get("periodSeconds").asLong());
        assertTrue(Math.abs(j.get("stepAtPeriodNs").asLong()) <= 1000);
        assertTrue(Math.abs(j.get("stepAfterPeriodNs").asLong()) > 1000);
        assertEquals(p.refreshesPerDay(), j.get("refreshesPerDay").asLong());
    }

    @Test
    void policySweepNamesTheWorstAndWritesAChart(@TempDir Path dir) throws Exception {
        Path svg = dir.resolve("steps.svg");
        CliRun r = CliRun.of("drift", "policy", "--max-jump", "100us", "--range", "2.5GHz-2.6GHz", "--step", "10MHz",
                "--json", "--chart", svg.toString(), "--chart-freqs", "2600000,2995200");
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        JsonNode j = r.json();
        assertEquals(11, j.get("frequencies").asInt());
        assertEquals(11, j.get("policies").size());
        long worst = j.at("/worst/periodSeconds").asLong();
        for (JsonNode p : j.get("policies")) {
            assertTrue(p.get("periodSeconds").isNull() || p.get("periodSeconds").asLong() >= worst);
        }
        String text = Files.readString(svg);
        assertTrue(text.startsWith("<svg") && text.contains("polyline") && text.contains("2,600,000 kHz"), text);
        var doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(svg.toFile());
        assertEquals("svg", doc.getDocumentElement().getNodeName());
        assertEquals(2, doc.getElementsByTagName("polyline").getLength(), "one line per charted frequency");
    }

    @Test
    void policyRefusesBadInputAndKeepsAnExistingChart(@TempDir Path dir) throws Exception {
        Path svg = dir.resolve("keep.svg");
        Files.writeString(svg, "old");
        CliRun a = CliRun.of("drift", "policy", "--max-jump", "lots", "--tsc-khz", "2600000", "--chart", svg.toString());
        assertEquals(ExitCode.BAD_INPUT, a.exitCode());
        assertTrue(a.errLine().contains("lots"), a.err());
        CliRun b = CliRun.of("drift", "policy", "--max-jump", "1000", "--range", "5GHz-1GHz");
        assertEquals(ExitCode.BAD_INPUT, b.exitCode());
        CliRun c = CliRun.of("drift", "policy", "--max-jump", "1000");
        assertEquals(ExitCode.BAD_INPUT, c.exitCode());
        assertEquals("old", Files.readString(svg));
    }

    @Test
    void kexecJsonRecommendsAndExplains() {
        CliRun r = CliRun.of("drift", "kexec", "--old-khz", "2600000", "--new-khz", "2600001", "--hours", "24", "--json");
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        JsonNode j = r.json();
        assertEquals(9, j.get("points").size());
        assertEquals(86_400, j.at("/points/8/seconds").asLong());
        assertEquals("take-new", j.get("recommended").asText());
        assertTrue(Math.abs(j.at("/points/8/keepStepNs").asLong()) > Math.abs(j.at("/points/8/takeStepNs").asLong()));
        assertFalse(j.get("reason").asText().isBlank());
        double expected = j.get("keepDriftPpb").asDouble() - j.get("takeDriftPpb").asDouble();
        assertEquals(expected, j.get("takeRateChangePpb").asDouble(), 2e-6, "each value is rounded to 1e-6 ppb");
        assertTrue(j.get("takeRateChangePpb").asDouble() < 0, "a higher new tsc_khz slows kvmclock per cycle");
    }

    @Test
    void seedSearchOnASmallRange() {
        CliRun r = CliRun.of("drift", "seed004", "--from", "2596000", "--to", "2597000", "--list", "5", "--json");
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        JsonNode j = r.json();
        assertEquals(1001, j.get("frequencies").asLong());
        assertEquals(4_502_145, j.get("targetNs").asLong());
        assertEquals(140_400, j.get("windowStartSeconds").asLong());
        assertEquals(147_600, j.get("windowEndSeconds").asLong());
        long matches = j.get("matches").asLong();
        assertTrue(matches > 0);
        assertEquals(Math.min(5, matches), j.get("listed").size());
        assertEquals(matches, j.get("forwardMatches").asLong() + j.get("backwardMatches").asLong());
    }

    @Test
    void seedSearchRefusesBelowOneGigahertz() {
        CliRun r = CliRun.of("drift", "seed004", "--from", "900MHz", "--to", "1GHz");
        assertEquals(ExitCode.BAD_INPUT, r.exitCode());
        assertTrue(r.errLine().contains("1GHz"), r.err());
    }
}
