package io.kvmclock.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every duration and frequency option reads its value through one converter and checks its own range. */
class DurationOptionsTest {

    private static CliRun refused(String option, String... args) {
        CliRun r = CliRun.of(args);
        assertEquals(ExitCode.BAD_INPUT, r.exitCode(), r.out() + r.err());
        assertTrue(r.errLine().startsWith("kvmclock: ") && r.errLine().contains(option), option + " in: " + r.err());
        assertEquals(1, r.err().strip().lines().filter(l -> !l.startsWith("Try '")).count(), "one line: " + r.err());
        return r;
    }

    static Stream<Arguments> badValues() {
        return Stream.of(
                Arguments.of("--downtime", new String[] {"demo", "--backend", "sim", "--downtime", "5parsecs"}),
                Arguments.of("--budget", new String[] {"demo", "--backend", "sim", "--budget", "1.5ms"}),
                Arguments.of("--precise-bound", new String[] {"demo", "--backend", "sim", "--precise-bound", "1.5ns"}),
                Arguments.of("--run", new String[] {"live-update", "--run", "soon"}),
                Arguments.of("--pause", new String[] {"peer", "qemu", "--pause", "1h 30m"}),
                Arguments.of("--watch", new String[] {"inspect", "1", "--watch", "-5s"}),
                Arguments.of("--rescan-after", new String[] {"exporter", "--rescan-after", "1m1m"}),
                Arguments.of("--max-jump", new String[] {"drift", "policy", "--max-jump", "1.5ms", "--tsc-khz", "2596138"}),
                Arguments.of("--target", new String[] {"drift", "seed004", "--target", "lots"}),
                Arguments.of("--step", new String[] {"drift", "policy", "--max-jump", "1000", "--range", "1GHz-2GHz",
                    "--step", "0.5kHz"}),
                Arguments.of("--step", new String[] {"drift", "seed004", "--step", "0kHz"}),
                Arguments.of("--range", new String[] {"drift", "policy", "--max-jump", "1000", "--range", "5GHz"}),
                Arguments.of("--range", new String[] {"drift", "policy", "--max-jump", "1000", "--range", "1GHz-2parsecs"}),
                Arguments.of("--hours", new String[] {"drift", "kexec", "--old-khz", "2600000", "--new-khz", "2600001",
                    "--hours", "0"}));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badValues")
    void aBadValueIsExit2NamingTheOption(String option, String[] args) {
        CliRun r = refused(option, args);
        if (!option.equals("--hours")) {
            String value = args[List.of(args).indexOf(option) + 1];
            assertTrue(r.errLine().contains("'" + value + "'"), "the value is quoted: " + r.err());
        }
    }

    @Test
    void outOfRangeNamesTheOptionTheValueAndTheRange() {
        CliRun d = refused("--downtime", "demo", "--backend", "sim", "--downtime", "1h30m");
        assertTrue(d.errLine().contains("--downtime 1h30m is out of range: at most 1h"), d.err());
        CliRun p = refused("--pause", "peer", "qemu", "--pause", "500us");
        assertTrue(p.errLine().contains("--pause 500us is out of range: 1ms to 1m"), p.err());
        CliRun q = refused("--pause", "peer", "qemu", "--pause", "1m1ns");
        assertTrue(q.errLine().contains("--pause 1m1ns is out of range: 1ms to 1m"), q.err());
        CliRun w = refused("--watch", "inspect", "1", "--watch", "1d1s");
        assertTrue(w.errLine().contains("--watch 24h1s is out of range: at most 24h"), w.err());
        CliRun e = refused("--rescan-after", "exporter", "--rescan-after", "2d");
        assertTrue(e.errLine().contains("out of range"), e.err());
        CliRun l = refused("--run", "live-update", "--run", "1h1ms");
        assertTrue(l.errLine().contains("--run 1h1ms is out of range: at most 1h"), l.err());
        CliRun b = refused("--budget", "demo", "--backend", "sim", "--budget", "0ms");
        assertTrue(b.errLine().contains("must be longer than 0"), b.err());
    }

    @Test
    void summedAndBareFormsAreOneSyntax() {
        CliRun summed = CliRun.of("drift", "policy", "--max-jump", "1ms500us", "--tsc-khz", "2596138", "--json");
        CliRun bare = CliRun.of("drift", "policy", "--max-jump", "1500000", "--tsc-khz", "2596138", "--json");
        assertEquals(ExitCode.OK, summed.exitCode(), summed.err());
        assertEquals(1_500_000, summed.json().get("maxJumpNs").asLong());
        assertEquals(summed.out(), bare.out());
        CliRun hours = CliRun.of("drift", "policy", "--max-jump", "1h30m", "--tsc-khz", "2596138", "--json");
        assertEquals(5_400_000_000_000L, hours.json().get("maxJumpNs").asLong());
        // a fraction is refused with the parser's own advice, as everywhere
        CliRun frac = refused("--downtime", "demo", "--backend", "sim", "--downtime", "1.5ms");
        assertTrue(frac.errLine().contains("is not a duration"), frac.err());
    }

    @Test
    void aRangeAndAStepAreFrequencies() {
        CliRun r = CliRun.of("drift", "policy", "--max-jump", "100us", "--range", "2.5GHz-2500010kHz", "--step", "5kHz",
                "--json");
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        assertEquals(2_500_000, r.json().get("fromKhz").asLong());
        assertEquals(2_500_010, r.json().get("toKhz").asLong());
        assertEquals(5, r.json().get("stepKhz").asLong());
        CliRun back = refused("--range", "drift", "policy", "--max-jump", "1000", "--range", "5GHz-1GHz");
        assertTrue(back.errLine().contains("runs backwards"), back.err());
    }
}
