package io.kvmclock.scenario;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvmclock.drift.Durations;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** A scenario file's DURATIONs are the project's one duration syntax (drift.Durations), or whole seconds as a number. */
class ScenarioDurationTest {

    private static JsonNode json(String text) throws Exception {
        return new ObjectMapper().readTree(text);
    }

    @ParameterizedTest
    @ValueSource(strings = {"500ns", "20us", "100ms", "2s", "300s", "5m", "2h", "40h", "3d", "1h30m", "1s500ms", "2d4h"})
    void aStringIsWhatDurationsReads(String text) throws Exception {
        assertEquals(Durations.parseNs(text), Scenario.duration(json("\"" + text + "\""), "at"));
    }

    @ParameterizedTest
    @CsvSource({"20,20000000000", "0,0", "1250,1250000000000"})
    void aNumberIsWholeSeconds(String number, long ns) throws Exception {
        assertEquals(ns, Scenario.duration(json(number), "at"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"\"1.5ms\"", "\"1 fortnight\"", "\"5 ms\"", "\"1h1h\"", "0.5", "-5", "true", "\"\"",
        "99999999999999999999"})
    void anythingElseIsOneLineNamingTheField(String text) throws Exception {
        JsonNode n = json(text);
        Scenario.ScenarioException e = assertThrows(Scenario.ScenarioException.class, () -> Scenario.duration(n, "events[0].at"));
        assertTrue(e.getMessage().startsWith("events[0].at must be a duration"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"\"1.5ms\"", "\"5 ms\""})
    void aStringGetsTheParsersOwnReason(String text) throws Exception {
        Scenario.ScenarioException e = assertThrows(Scenario.ScenarioException.class, () -> Scenario.duration(json(text), "at"));
        assertTrue(e.getMessage().contains("is not a duration: use whole numbers"), e.getMessage());
    }
}
