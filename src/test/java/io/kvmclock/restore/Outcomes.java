package io.kvmclock.restore;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.kvmclock.demo.MethodResult;
import io.kvmclock.demo.TrialResult;

/** The outcomes the restore tests expect, asserted: a method that ran, a trial that was measured. */
final class Outcomes {
    private Outcomes() {}

    static MethodResult.Ran ran(MethodResult r) {
        return assertInstanceOf(MethodResult.Ran.class, r, r.toString());
    }

    static TrialResult.Measured measured(TrialResult t) {
        return assertInstanceOf(TrialResult.Measured.class, t, t.toString());
    }
}
