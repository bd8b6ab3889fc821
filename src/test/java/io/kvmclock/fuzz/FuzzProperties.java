package io.kvmclock.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The fuzzer's edits as jqwik properties, bounded so they run in every test run (the long runs are
 * {@code kvmclock fuzz}): every mutated state file, scenario and hand-over is accepted or rejected with the
 * decoder's own reason, never anything else; jqwik shrinks a failure to its smallest edit list.
 */
class FuzzProperties {

    private static List<byte[]> scenarioSeeds() {
        List<byte[]> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(Path.of("scenarios"))) {
            for (Path p : s.filter(p -> p.toString().endsWith(".json")).sorted().toList()) {
                out.add(Files.readAllBytes(p));
            }
        } catch (IOException e) {
            throw new AssertionError("the scenarios folder is part of the repository", e);
        }
        return out;
    }

    private static final Fuzzer STATE = new Fuzzer(Fuzzer.Format.state, List.of());
    private static final Fuzzer SCENARIO = new Fuzzer(Fuzzer.Format.scenario, scenarioSeeds());
    private static final Fuzzer HANDOVER = new Fuzzer(Fuzzer.Format.handover, List.of());

    @Provide
    Arbitrary<List<Fuzzer.Edit>> edits() {
        return Combinators.combine(Arbitraries.integers().between(0, Fuzzer.Edit.KINDS - 1),
                Arbitraries.integers().greaterOrEqual(0), Arbitraries.integers()).as(Fuzzer.Edit::new)
                .list().ofMinSize(1).ofMaxSize(10);
    }

    private static void neverOther(Fuzzer f, int seed, int part, List<Fuzzer.Edit> edits, boolean fixCrc) {
        Fuzzer.Verdict v = f.classify(f.mutate(seed, part, edits, fixCrc));
        assertFalse(v instanceof Fuzzer.Verdict.Other, v::toString);
    }

    @Property(tries = 3000)
    void everyMutatedStateFileIsAcceptedOrRejectedWithAReason(@ForAll("edits") List<Fuzzer.Edit> edits,
                                                             @ForAll int seed, @ForAll boolean fixCrc) {
        neverOther(STATE, seed, 0, edits, fixCrc);
    }

    @Property(tries = 2000)
    void everyMutatedScenarioIsAcceptedOrRejectedWithAReason(@ForAll("edits") List<Fuzzer.Edit> edits, @ForAll int seed) {
        neverOther(SCENARIO, seed, 0, edits, false);
    }

    @Property(tries = 3000)
    void everyMutatedHandOverIsAcceptedOrRejectedWithAReason(@ForAll("edits") List<Fuzzer.Edit> edits,
                                                            @ForAll int part, @ForAll boolean fixCrc) {
        neverOther(HANDOVER, 0, part, edits, fixCrc);
    }

    @Example
    void aRunCountsEveryInputOnce() {
        Fuzzer.Counts c = HANDOVER.run(5_000, 3, n -> { });
        assertEquals(5_000, c.accepted() + c.rejectedTotal() + c.other());
        assertEquals(0, c.other(), c.otherExamples().toString());
        assertTrue(c.accepted() > 0 && c.rejected().size() >= 4, "reaches acceptance and several reasons: " + c);
        Fuzzer.Counts again = HANDOVER.run(5_000, 3, n -> { });
        assertEquals(c, again, "the same seed tries the same inputs");
    }

    @Example
    void theSeedsThemselvesAreAccepted() {
        for (Fuzzer f : List.of(STATE, SCENARIO, HANDOVER)) {
            for (int i = 0; i < f.seedCount(); i++) {
                assertTrue(f.classify(f.mutate(i, 0, List.of(), false)) instanceof Fuzzer.Verdict.Accepted, f + " seed " + i);
            }
        }
    }

    @Example
    void theStateFuzzerReachesEveryRejectionReason() {
        Fuzzer.Counts c = STATE.run(60_000, 1, n -> { });
        assertEquals(0, c.other(), c.otherExamples().toString());
        assertTrue(c.rejected().size() >= 16, "reasons reached: " + c.rejected().keySet());
    }
}
