package io.kvmclock.drift;

import io.kvmclock.time.Drift;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** An SVG line chart of |step| against time since the last master clock reference, one line per frequency. */
public final class StepChart {
    private StepChart() {}

    private static final String[] COLOURS = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};
    private static final int W = 800;
    private static final int H = 480;
    private static final int LEFT = 90;
    private static final int RIGHT = 200;
    private static final int TOP = 40;
    private static final int BOTTOM = 60;
    private static final int SAMPLES = 240;

    /** Every sample is the exact step at a whole second; budgetNs <= 0 draws no budget line. */
    public static String svg(List<Long> tscKhzs, long spanSeconds, long budgetNs) {
        if (tscKhzs.isEmpty() || spanSeconds <= 0) {
            throw new IllegalArgumentException("a chart needs at least one frequency and a positive span");
        }
        List<long[]> series = new ArrayList<>();
        long maxAbs = Math.max(budgetNs, 1);
        for (long khz : tscKhzs) {
            Drift d = Drift.forTscKhz(khz);
            long[] ys = new long[SAMPLES + 1];
            for (int i = 0; i <= SAMPLES; i++) {
                long s = spanSeconds * i / SAMPLES;
                ys[i] = Math.abs(d.stepNs(DriftPredictor.cycles(khz, s)));
                maxAbs = Math.max(maxAbs, ys[i]);
            }
            series.add(ys);
        }
        double plotW = W - LEFT - RIGHT;
        double plotH = H - TOP - BOTTOM;
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">%n", W, H, W, H));
        b.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"22\" font-size=\"15\">|kvmclock step| at a new master "
                + "clock reference vs time since the previous one</text>%n", LEFT));
        b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
                + "stroke=\"#444\"/>%n", LEFT, TOP, plotW, plotH));
        for (int i = 0; i <= 5; i++) {
            double y = TOP + plotH - plotH * i / 5;
            long v = maxAbs * i / 5;
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                    + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n", LEFT, y, LEFT + plotW, y,
                    LEFT - 6, y + 4, ns(v)));
            double x = LEFT + plotW * i / 5;
            long s = spanSeconds * i / 5;
            b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>%n",
                    x, TOP + plotH + 18, Durations.format(s)));
        }
        b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">time since the last "
                + "master clock reference</text>%n", LEFT + plotW / 2, H - 18));
        if (budgetNs > 0) {
            double y = TOP + plotH - plotH * budgetNs / maxAbs;
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\" "
                    + "stroke-dasharray=\"6 4\"/><text x=\"%.1f\" y=\"%.1f\">budget %s</text>%n", LEFT, y,
                    LEFT + plotW, y, LEFT + plotW + 8, y + 4, ns(budgetNs)));
        }
        for (int k = 0; k < series.size(); k++) {
            long[] ys = series.get(k);
            String colour = COLOURS[k % COLOURS.length];
            b.append("<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"").append(colour).append("\" points=\"");
            for (int i = 0; i <= SAMPLES; i++) {
                double x = LEFT + plotW * i / SAMPLES;
                double y = TOP + plotH - plotH * ys[i] / maxAbs;
                b.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
            }
            b.append("\"/>\n");
            long khz = tscKhzs.get(k);
            long last = Drift.forTscKhz(khz).stepNs(DriftPredictor.cycles(khz, spanSeconds));
            b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" fill=\"%s\">%,d kHz (%s)</text>%n",
                    LEFT + plotW + 8, TOP + 16 + 18 * k, colour, khz, last < 0 ? "backward" : "forward"));
        }
        b.append("</svg>\n");
        return b.toString();
    }

    private static String ns(long v) {
        if (v >= 1_000_000) {
            return String.format(Locale.ROOT, "%.2f ms", v / 1e6);
        }
        if (v >= 1_000) {
            return String.format(Locale.ROOT, "%.1f us", v / 1e3);
        }
        return v + " ns";
    }
}
