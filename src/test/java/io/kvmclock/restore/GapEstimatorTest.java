package io.kvmclock.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class GapEstimatorTest {

    @Test
    void aimsAtTheMostFrequentGap() {
        GapEstimator g = new GapEstimator();
        assertEquals(0, g.estimate(), "nothing seen yet");
        for (long v : new long[] {55, 61, 61, 70, 58, 61, 90, 58}) {
            g.observe(v);
        }
        assertEquals(61, g.estimate());
    }

    @Test
    void aTieGoesToTheValueNearestTheMedian() {
        GapEstimator g = new GapEstimator();
        for (long v : new long[] {40, 40, 60, 60, 61, 62, 63}) {
            g.observe(v);
        }
        assertEquals(60, g.estimate());
    }

    @Test
    void onlyTheLastWindowCounts() {
        GapEstimator g = new GapEstimator();
        for (int i = 0; i < GapEstimator.WINDOW; i++) {
            g.observe(250); // a fresh VM's cold first calls
        }
        for (int i = 0; i < GapEstimator.WINDOW; i++) {
            g.observe(i % 3 == 0 ? 61 : 60);
        }
        assertEquals(60, g.estimate());
    }

    @Test
    void theRecentObservationsAloneShowAMovedGap() {
        GapEstimator g = new GapEstimator();
        for (int i = 0; i < 24; i++) {
            g.observe(60);
        }
        for (int i = 0; i < 8; i++) {
            g.observe(70);
        }
        assertEquals(60, g.estimate(), "over the whole window the old gap still dominates");
        assertEquals(70, g.estimate(8));
    }
}
