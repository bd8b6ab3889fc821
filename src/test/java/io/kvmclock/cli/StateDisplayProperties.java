package io.kvmclock.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.fuzz.Fuzzer;
import io.kvmclock.state.ClockState;
import io.kvmclock.state.StateFormat;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Whatever a mutated state file holds, once accepted 'state show' prints it without a raw control character. */
class StateDisplayProperties {
    private static final Fuzzer STATE = new Fuzzer(Fuzzer.Format.state, List.of());

    @Provide
    Arbitrary<List<Fuzzer.Edit>> edits() {
        // bit flips and byte values only: they keep the structure, so strings change and the file is still accepted
        return Combinators.combine(Arbitraries.integers().between(0, 1), Arbitraries.integers().greaterOrEqual(0),
                Arbitraries.integers()).as(Fuzzer.Edit::new).list().ofMinSize(1).ofMaxSize(6);
    }

    @Property(tries = 1500)
    void anAcceptedStateIsShownWithoutRawControlCharacters(@ForAll("edits") List<Fuzzer.Edit> edits, @ForAll int seed) {
        byte[] file = STATE.mutate(seed, 0, edits, true).getFirst();
        if (!(STATE.classify(List.of(file)) instanceof Fuzzer.Verdict.Accepted)) {
            return;
        }
        ClockState s = StateFormat.decode(file);
        StringWriter w = new StringWriter();
        StateCommand.printText(new PrintWriter(w), Path.of("f.kvmclk"), s);
        assertTrue(w.toString().chars().noneMatch(c -> c != '\n' && Character.isISOControl(c)), w::toString);
    }
}
