package io.kvmclock.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kvmclock.demo.MethodResult;
import io.kvmclock.demo.TrialResult;
import io.kvmclock.restore.DocumentedMethod;
import io.kvmclock.restore.DowntimePolicy;
import io.kvmclock.restore.PreciseMethod;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The demo's exit code follows the methods' contracts: a failed trial fails the demo only where a bound was promised. */
class DemoExitCodeTest {
    private static final TrialResult FAILED = new TrialResult.Failed("KVM_SET_CLOCK failed with EIO", 3);

    @Test
    void aFailedTrialFailsTheDemoOnlyForAMethodThatPromisesItsBound() {
        MethodResult documented = new MethodResult.Ran(new DocumentedMethod(), List.of(FAILED));
        MethodResult precise = new MethodResult.Ran(new PreciseMethod(DowntimePolicy.ADVANCE), List.of(FAILED));
        MethodResult preciseNotRun = new MethodResult.NotRun(new PreciseMethod(DowntimePolicy.ADVANCE), "needs KVM_CAP_VCPU_ATTRIBUTES");
        assertEquals(ExitCode.OK, DemoCommand.exitCode(List.of(documented)));
        assertEquals(ExitCode.OK, DemoCommand.exitCode(List.of(documented, preciseNotRun)));
        assertEquals(ExitCode.FAILURE, DemoCommand.exitCode(List.of(documented, precise)));
        assertEquals(ExitCode.OK, DemoCommand.exitCode(List.of(new MethodResult.Ran(new PreciseMethod(DowntimePolicy.ADVANCE), List.of()))));
    }
}
