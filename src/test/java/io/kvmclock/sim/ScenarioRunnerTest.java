package io.kvmclock.sim;

import static org.junit.jupiter.api.Assertions.*;

import io.kvmclock.time.Drift;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ScenarioRunnerTest {

    private static ScenarioRunner.Result runFile(String name) throws IOException {
        try (InputStream in = Files.newInputStream(Path.of("scenarios", name))) {
            return ScenarioRunner.run(Scenario.parse(in, name));
        }
    }

    private static ScenarioRunner.Result runJson(String json) throws IOException {
        return ScenarioRunner.run(Scenario.parse(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), "inline"));
    }

    private static List<ScenarioRunner.ClockEvent> of(ScenarioRunner.Result r, String kind) {
        return r.events().stream().filter(e -> e.kind().equals(kind)).toList();
    }

    @Test
    void kexecRestores() throws IOException {
        List<ScenarioRunner.ClockEvent> k = of(runFile("kexec-live-update.json"), "kexec");
        assertEquals(3, k.size());
        assertTrue(Math.abs(k.get(0).stepNs()) <= 2, "CLOCK_GUEST with tsc_khz kept: " + k.get(0));
        assertTrue(k.get(1).detail().contains("ERANGE"), "3 kHz off is beyond KVM_SET_CLOCK_GUEST's 1 kHz: " + k.get(1));
        assertTrue(Math.abs(k.get(1).stepNs()) < 10_000, "the REALTIME fallback lands within the latency: " + k.get(1));
        long frozen = k.get(2).stepNs();
        assertTrue(frozen < -2_000_000_000L && frozen > -2_001_000_000L, "flags-0 KVM_SET_CLOCK loses the downtime: " + frozen);
    }

    @Test
    void migrationCarriesTheWallClockError() throws IOException {
        List<ScenarioRunner.ClockEvent> m = of(runFile("migration-across-hosts.json"), "migrate");
        assertEquals(2, m.size());
        long first = m.get(0).stepNs();
        assertTrue(first >= 250_000 && first < 251_000, "destination wall clock 250 us ahead: " + first);
    }

    @Test
    void legacyHotplugStepsByTheDriftAnd618DoesNot() throws IOException {
        String base = """
            {"duration": "30m", "sampleEvery": "1m",
             "host": {"preset": "ideal", "tscKhz": 2995200, "tscScaling": "none", "hotplugForcesMasterclockUpdate": %s},
             "events": [{"at": "1250s", "action": "hotplug"}, {"at": "1500s", "every": "60s", "action": "hotplug"}]}
            """;
        ScenarioRunner.Result legacy = runJson(base.formatted("true"));
        ScenarioRunner.ClockEvent first = of(legacy, "hotplug").getFirst();
        long expected = Drift.forTscKhz(2_995_200).stepAfterSeconds(1_250);
        assertTrue(Math.abs(first.stepNs() - expected) <= 1, first + " vs " + expected);
        ScenarioRunner.Result current = runJson(base.formatted("false"));
        assertEquals(7, of(current, "hotplug").size(), "1250 s, then 1500..1800 s every 60 s");
        assertTrue(current.steps().isEmpty(), "6.18: matching hotplugs take no reference: " + current.steps());
    }

    @Test
    void realtimeStepOnlyMattersToSetClockRealtime() throws IOException {
        ScenarioRunner.Result r = runJson("""
            {"duration": "10m", "sampleEvery": "10s", "host": {"clockGuest": true, "tscScaling": "vmx"},
             "events": [{"at": "100s", "action": "realtime-step", "ns": 3000000},
                        {"at": "200s", "action": "kexec", "downtime": "1s", "restore": "set-clock-realtime"},
                        {"at": "300s", "action": "realtime-step", "ns": -3000000},
                        {"at": "400s", "action": "kexec", "downtime": "1s", "restore": "clock-guest"}]}
            """);
        assertTrue(Math.abs(of(r, "realtime-step").getFirst().stepNs()) < 10, "the guest does not see a host NTP step");
        List<ScenarioRunner.ClockEvent> k = of(r, "kexec");
        assertTrue(Math.abs(k.get(0).stepNs()) < 10_000, "the same host's realtime read before and after: " + k.get(0));
        assertTrue(Math.abs(k.get(1).stepNs()) <= 2, k.get(1).toString());
    }

    @Test
    void theV6PresetIsTheV6Host() throws IOException {
        Scenario s = Scenario.parse(new java.io.ByteArrayInputStream("""
            {"duration": "1m", "sampleEvery": "10s", "host": {"preset": "v6"}, "events": []}
            """.getBytes(java.nio.charset.StandardCharsets.UTF_8)), "inline");
        assertTrue(s.host().config().v6Series(), s.host().config().toString());
        assertEquals(SimHostConfig.v6Host().kernel(), s.host().config().kernel());
    }
}
