package io.kvmclock.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmclock.kvm.RealKvm;
import io.kvmclock.time.TimeScale;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoCommandTest {

    /** The demo on real KVM and on the model of this host (the default --sim-host) see the same guest clock. */
    @Tag("kvm")
    @Test
    void theModelOfThisHostShowsTheGuestTheSameClockAsRealKvm() {
        RealKvm.openOrSkip().close();
        JsonNode real = CliRun.of("demo", "--backend", "kvm", "--trials", "1", "--methods", "documented", "--json").json();
        CliRun sim = CliRun.of("demo", "--backend", "sim", "--trials", "1", "--methods", "documented", "--json");
        assertTrue(sim.err().contains("modelling this host (") && sim.err().contains("tsc_khz " + real.at("/host/tscKhz").asLong()),
                sim.err());
        JsonNode model = sim.json();
        assertEquals(real.get("host"), model.get("host"), "kernel, tsc_khz, clocksource");
        assertEquals(real.get("guestClock"), model.get("guestClock"), "pvclock mul/shift/flags and KVM_GET_CLOCK flags");
        assertEquals(TimeScale.forGuestKhz(real.at("/host/tscKhz").asLong()).mul(), real.at("/guestClock/pvclockMul").asLong());
    }

    @Test
    void jsonOnTheModelHasEveryMethodWithTheDocumentedKeys() {
        CliRun r = CliRun.of("demo", "--backend", "sim", "--sim-host", "kvm-intel", "--trials", "4", "--json");
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        JsonNode j = r.json();
        assertEquals("sim", j.get("backend").asText());
        assertEquals(4, j.get("trials").asInt());
        assertEquals(8, j.get("methods").size());
        for (JsonNode m : j.get("methods")) {
            assertTrue(m.has("name") && m.has("supported"), m.toString());
            if (m.get("supported").asBoolean()) {
                for (String k : new String[] {"kvmclockErrorNs", "tscErrorCycles", "hostTimeErrorNs", "restoreMicros"}) {
                    assertTrue(m.get(k).has("median") && m.get(k).has("p99") && m.get(k).has("max"), k + " in " + m);
                }
                assertTrue(m.get("kvmclockErrorNs").get("median").asLong() >= 0, "absolute values");
            } else {
                assertTrue(m.get("unsupportedReason").asText().contains("KVM_SET_CLOCK_GUEST"), m.toString());
            }
        }
    }

    @Test
    void reportWritesAPageAndItsCharts(@TempDir Path dir) throws Exception {
        CliRun r = CliRun.of("demo", "--backend", "sim", "--sim-host", "kvm-intel", "--trials", "3", "--methods", "precise,qemu", "--report",
                dir.toString());
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        String html = Files.readString(dir.resolve("index.html"));
        assertTrue(html.contains("precise") && html.contains("qemu"), html);
        assertTrue(html.contains("kvmclock-error.svg"), html);
        String svg = Files.readString(dir.resolve("kvmclock-error.svg"));
        assertTrue(svg.startsWith("<svg") && svg.contains("<circle"), svg);
        assertTrue(r.out().contains("report: "), r.out());
    }

    @Test
    void unknownMethodIsBadInputNamingTheChoices() {
        CliRun r = CliRun.of("demo", "--backend", "sim", "--sim-host", "kvm-intel", "--methods", "precise,chrony");
        assertEquals(ExitCode.BAD_INPUT, r.exitCode());
        assertTrue(r.errLine().contains("chrony") && r.errLine().contains("documented"), r.err());
    }

    @Test
    void badTrialsPolicyAndDowntimeAreBadInput() {
        assertEquals(ExitCode.BAD_INPUT, CliRun.of("demo", "--backend", "sim", "--sim-host", "kvm-intel", "--trials", "0").exitCode());
        assertEquals(ExitCode.BAD_INPUT, CliRun.of("demo", "--backend", "sim", "--sim-host", "kvm-intel", "--policy", "sideways").exitCode());
        assertEquals(ExitCode.BAD_INPUT, CliRun.of("demo", "--backend", "sim", "--sim-host", "kvm-intel", "--precise-bound", "0").exitCode());
        CliRun d = CliRun.of("demo", "--backend", "sim", "--sim-host", "kvm-intel", "--downtime", "5 parsecs");
        assertEquals(ExitCode.BAD_INPUT, d.exitCode());
        assertFalse(d.err().contains("\tat "), d.err());
    }

    @Test
    void aLooserPreciseBoundIsWhatPreciseThenReports() {
        CliRun r = CliRun.of("demo", "--backend", "sim", "--sim-host", "kvm-intel", "--trials", "3", "--methods", "precise", "--precise-bound", "5");
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        assertTrue(r.out().contains("+-5 ns"), r.out());
    }

    /** A fallback's reason reaches the user: counted in the text under the method's numbers, and in the JSON. */
    @Test
    void documentedV6SaysWhyItFellBackInTextAndJson() {
        String[] args = {"demo", "--backend", "sim", "--sim-host", "kvmintel", "--trials", "3", "--methods", "documented-v6"};
        CliRun text = CliRun.of(args);
        assertEquals(ExitCode.OK, text.exitCode(), text.err());
        assertTrue(text.out().contains("FELL BACK: 3"), text.out());
        assertTrue(text.out().contains("note (3/3 trials): KVM_SET_CLOCK_GUEST is missing on this kernel"), text.out());
        String[] withJson = Arrays.copyOf(args, args.length + 1);
        withJson[args.length] = "--json";
        JsonNode m = CliRun.of(withJson).json().get("methods").get(0);
        assertEquals(3, m.get("fallbacks").asInt());
        JsonNode first = m.get("notes").get(0);
        assertTrue(first.get("note").asText().contains("fell back to KVM_SET_CLOCK(guest_src, time_src, REALTIME)"), m.toString());
        assertEquals(3, first.get("trials").asInt());
    }

    @Test
    void simHostV6RunsTheV6Kernel() {
        CliRun r = CliRun.of("demo", "--backend", "sim", "--sim-host", "v6", "--trials", "2", "--methods", "documented-v6", "--json");
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        assertTrue(r.json().get("host").get("kernel").asText().contains("v6"), r.out());
        assertEquals(0, r.json().get("methods").get(0).get("fallbacks").asInt(), r.out());
    }

    @Test
    void textShowsATablePerMethod() {
        CliRun r = CliRun.of("demo", "--backend", "sim", "--sim-host", "kvm-intel", "--trials", "3", "--methods", "documented,precise");
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        assertTrue(r.out().contains("|kvmclock error| (ns)"), r.out());
        assertTrue(r.out().contains("SET_CLOCK rounds"), r.out());
        assertTrue(r.out().indexOf("documented") < r.out().indexOf("precise  "), r.out());
    }

    @Test
    void budgetHitsAndTheBreakdownAreInTheJson() {
        CliRun r = CliRun.of("demo", "--backend", "sim", "--sim-host", "kvmintel", "--trials", "3", "--methods", "precise",
                "--budget", "1ns", "--best-effort", "--json");
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        var precise = r.json().get("methods").get(0);
        assertEquals(3, precise.get("budgetHits").asInt(), precise.toString());
        var restore = precise.get("breakdown").get("restore");
        boolean hasSet = false;
        for (var p : restore) {
            hasSet |= p.get("name").asText().equals("set") && p.get("calls").get("median").asLong() == 1;
            assertTrue(p.get("kernelNs").get("max").asLong() <= p.get("wallNs").get("max").asLong(), p.toString());
        }
        assertTrue(hasSet, restore.toString());
        assertTrue(precise.get("breakdown").get("prepareNs").get("median").asLong() > 0, precise.toString());
    }

    @Test
    void withoutBestEffortTheBudgetFailsPrecise() {
        CliRun r = CliRun.of("demo", "--backend", "sim", "--sim-host", "kvmintel", "--trials", "2", "--methods", "precise",
                "--budget", "1ns", "--json");
        assertEquals(ExitCode.FAILURE, r.exitCode(), r.out());
        assertEquals(2, r.json().get("methods").get(0).get("failures").asInt());
    }

    @Test
    void aBadBudgetIsBadInput() {
        CliRun bad = CliRun.of("demo", "--backend", "sim", "--sim-host", "kvm-intel", "--budget", "5parsecs");
        assertEquals(ExitCode.BAD_INPUT, bad.exitCode());
        assertTrue(bad.errLine().contains("--budget") && bad.errLine().contains("5parsecs"), bad.err());
        CliRun alone = CliRun.of("demo", "--backend", "sim", "--sim-host", "kvm-intel", "--best-effort");
        assertEquals(ExitCode.BAD_INPUT, alone.exitCode());
        assertTrue(alone.errLine().contains("--budget"), alone.err());
    }

    /** A method the host cannot run: "not run" and its reason in the text, supported false and the reason in the JSON. */
    @Test
    void anUnsupportedMethodIsReportedAsNotRunWithItsReason() {
        String[] args = {"demo", "--backend", "sim", "--sim-host", "kvm-intel", "--trials", "2", "--methods", "clock-guest,documented"};
        CliRun text = CliRun.of(args);
        assertEquals(ExitCode.OK, text.exitCode(), text.err());
        int at = text.out().indexOf("clock-guest  ");
        assertTrue(at >= 0, text.out());
        assertTrue(text.out().startsWith("  not run: unsupported on this kernel: no KVM_SET_CLOCK_GUEST\n",
                text.out().indexOf('\n', at) + 1), text.out());
        assertTrue(text.out().contains("|kvmclock error| (ns)"), "documented ran: " + text.out());
        JsonNode ms = CliRun.of(withJson(args)).json().get("methods");
        assertEquals("clock-guest", ms.get(0).get("name").asText());
        assertFalse(ms.get(0).get("supported").asBoolean(), ms.toString());
        assertEquals("unsupported on this kernel: no KVM_SET_CLOCK_GUEST", ms.get(0).get("unsupportedReason").asText());
        assertFalse(ms.get(0).has("kvmclockErrorNs"), ms.toString());
        assertTrue(ms.get(1).get("supported").asBoolean() && !ms.get(1).has("unsupportedReason"), ms.toString());
    }

    /** A restore that says the method cannot run here (qemu without TSC scaling, across a rate change) is not run either. */
    @Test
    void aMethodWhoseRestoreSaysUnsupportedIsNotRun() {
        String[] args = {"demo", "--backend", "sim", "--sim-host", "kvm-intel", "--sim-peer-khz", "2995200", "--trials", "2",
            "--methods", "qemu"};
        CliRun text = CliRun.of(args);
        assertEquals(ExitCode.OK, text.exitCode(), text.err());
        assertTrue(text.out().contains("  not run: unsupported: the guest's TSC runs at "), text.out());
        JsonNode m = CliRun.of(withJson(args)).json().get("methods").get(0);
        assertFalse(m.get("supported").asBoolean(), m.toString());
        assertTrue(m.get("unsupportedReason").asText().startsWith("unsupported: the guest's TSC runs at "), m.toString());
    }

    /** Failed trials: counted, with their reasons, in the text, the JSON and the report; precise's fail the demo. */
    @Test
    void failedTrialsAreCountedWithTheirReasons(@TempDir Path dir) throws Exception {
        String[] args = {"demo", "--backend", "sim", "--sim-host", "kvm-intel", "--trials", "2", "--methods", "precise",
            "--budget", "1ns", "--report", dir.toString()};
        CliRun text = CliRun.of(args);
        assertEquals(ExitCode.FAILURE, text.exitCode(), text.out());
        assertTrue(text.out().contains("no trial measured: all 2 failed"), text.out());
        assertFalse(text.out().contains("|kvmclock error|"), "no table of zeros: " + text.out());
        assertTrue(text.out().lines().anyMatch(l -> l.startsWith("  failed: ") && l.contains("budget of 1 ns was spent")), text.out());
        JsonNode m = CliRun.of(withJson(args)).json().get("methods").get(0);
        assertTrue(m.get("failureReasons").size() >= 1, m.toString());
        for (JsonNode why : m.get("failureReasons")) {
            assertTrue(why.asText().contains("budget of 1 ns was spent"), m.toString());
        }
        String html = Files.readString(dir.resolve("index.html"));
        assertTrue(html.contains("<li>failed: ") && html.contains("budget of 1 ns was spent"), html);
    }

    /** What a method notes reaches the HTML report as it reaches the text and the JSON: each note with its count. */
    @Test
    void theReportShowsWhatEachMethodNoted(@TempDir Path dir) throws Exception {
        CliRun r = CliRun.of("demo", "--backend", "sim", "--sim-host", "kvm-intel", "--trials", "3", "--methods",
                "documented-v6,precise", "--report", dir.toString());
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        String html = Files.readString(dir.resolve("index.html"));
        assertTrue(html.contains("<h2>What the methods noted</h2>"), html);
        assertTrue(html.contains("<li>fell back in 3/3 trials</li>"), html);
        assertTrue(html.contains("<li>note (3/3 trials): KVM_SET_CLOCK_GUEST is missing on this kernel"), html);
        assertTrue(html.contains("<h3>precise</h3>") && html.contains("<li>KVM_SET_CLOCK rounds: median "), html);
        assertTrue(html.indexOf("<h3>documented-v6</h3>") < html.indexOf("<h3>precise</h3>"), html);
    }

    private static String[] withJson(String[] args) {
        String[] withJson = Arrays.copyOf(args, args.length + 1);
        withJson[args.length] = "--json";
        return withJson;
    }
}
