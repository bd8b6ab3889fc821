package io.kvmclock.scenario;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** A scenario run is the model's determinism seen from above: the same file gives the same run. */
class ScenarioDeterminismTest {

    @Test
    void scenarioRunsAreReproducible() throws Exception {
        var scenario = Scenario.parse(ScenarioDeterminismTest.class.getResourceAsStream("/scenarios-test/kexec.json"), "kexec.json");
        var a = ScenarioRunner.run(scenario);
        var b = ScenarioRunner.run(scenario);
        assertEquals(a.events(), b.events());
        assertEquals(a.samples(), b.samples());
        assertFalse(a.events().isEmpty());
    }
}
