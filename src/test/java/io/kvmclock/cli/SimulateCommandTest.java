package io.kvmclock.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SimulateCommandTest {
    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void shippedScenariosRunAndReport(@TempDir Path dir) throws Exception {
        try (var files = Files.list(Path.of("scenarios"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".json")).toList()) {
                Run r = run("simulate", f.toString(), "--report", dir.toString());
                assertEquals(0, r.code(), f + ": " + r.err());
                assertTrue(r.out().contains("steps: "), r.out());
            }
        }
        Path page = dir.resolve("hotplug-long-run.html");
        String html = Files.readString(page);
        assertTrue(html.contains("<svg") && html.contains("<polyline"), "the report has an SVG chart");
        assertTrue(html.contains("107221"), "the 1,250 s hotplug step is in the table");
    }

    @Test
    void jsonOutputIsDeterministic() {
        Run a = run("simulate", "scenarios/kexec-live-update.json", "--json");
        Run b = run("simulate", "scenarios/kexec-live-update.json", "--json");
        assertEquals(0, a.code());
        assertEquals(a.out(), b.out());
        assertTrue(a.out().contains("\"backwardsSteps\""));
    }

    @Test
    void badScenarioFilesGiveOneLineAndExit2(@TempDir Path dir) throws Exception {
        String[][] cases = {
            {"{", "not valid JSON"},
            {"{\"duration\": \"1h\", \"colour\": 1}", "unknown field \"colour\""},
            {"{\"events\": []}", "\"duration\" is required"},
            {"{\"duration\": \"1 fortnight\"}", "duration must be a duration"},
            {"{\"duration\": \"1h\", \"events\": [{\"at\": \"2h\", \"action\": \"hotplug\"}]}", "outside the run"},
            {"{\"duration\": \"1h\", \"events\": [{\"at\": 1, \"action\": \"reboot\"}]}", "\"reboot\" is unknown"},
            {"{\"duration\": \"1h\", \"host\": {\"tscScaling\": \"arm\"}}", "tscScaling \"arm\" is unknown"},
            {"{\"duration\": \"1h\", \"events\": [{\"at\": 1, \"action\": \"tsc-offset-write\", \"vcpu\": 3}]}", "vCPU 3"},
        };
        for (String[] c : cases) {
            Path f = dir.resolve("bad.json");
            Files.writeString(f, c[0]);
            Run r = run("simulate", f.toString());
            assertEquals(2, r.code(), c[0] + " -> " + r.err());
            String last = r.err().strip().lines().reduce((x, y) -> y).orElse("");
            assertTrue(last.startsWith("kvmclock: ") && last.contains(c[1]), c[0] + " -> " + r.err());
            assertEquals(c[0], Files.readString(f), "input left intact");
        }
        Run missing = run("simulate", dir.resolve("nope.json").toString());
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("does not exist"));
    }
}
