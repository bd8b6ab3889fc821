package io.kvmclock.cli;

import io.kvmclock.scenario.ScenarioRunner;
import java.util.List;
import java.util.Locale;

/** A self-contained HTML page with an SVG line chart of kvmclock minus true time, and the event table. */
final class SimReport {
    private SimReport() {}

    private static final int W = 900;
    private static final int H = 360;
    private static final int L = 90;
    private static final int R = 20;
    private static final int T = 20;
    private static final int B = 50;

    static String html(ScenarioRunner.Result r) {
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>kvmclock simulate: ").append(esc(r.scenario().name()))
                .append("</title>\n<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
                        + "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td.l{text-align:left}.back{color:#b00}</style>"
                        + "</head><body>\n");
        h.append("<h1>").append(esc(r.scenario().name())).append("</h1>\n<p>").append(esc(r.scenario().description())).append("</p>\n");
        h.append("<p>seed ").append(r.scenario().seed()).append(", ").append(r.samples().size()).append(" guest reads, ")
                .append(r.steps().size()).append(" steps, master clock references ").append(r.references()).append("</p>\n");
        h.append("<h2>kvmclock minus true time (vCPU 0)</h2>\n").append(svg(r.samples(), r.scenario().durationNs()));
        h.append("<h2>Clock events</h2>\n<table><tr><th>at (s)</th><th>event</th><th>vCPU</th><th>step (ns)</th><th>detail</th></tr>\n");
        for (ScenarioRunner.ClockEvent e : r.events()) {
            h.append("<tr").append(e.backwards() ? " class=\"back\"" : "").append("><td>")
                    .append(String.format(Locale.ROOT, "%.3f", e.atNs() / 1e9)).append("</td><td class=\"l\">").append(esc(e.kind()))
                    .append("</td><td>").append(e.vcpu()).append("</td><td>").append(e.stepNs()).append("</td><td class=\"l\">")
                    .append(esc(e.detail())).append("</td></tr>\n");
        }
        h.append("</table>\n</body></html>\n");
        return h.toString();
    }

    static String svg(List<ScenarioRunner.Sample> samples, long durationNs) {
        StringBuilder s = new StringBuilder();
        s.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(W).append("\" height=\"").append(H)
                .append("\" viewBox=\"0 0 ").append(W).append(' ').append(H).append("\">\n");
        s.append("<rect x=\"0\" y=\"0\" width=\"").append(W).append("\" height=\"").append(H).append("\" fill=\"white\"/>\n");
        if (samples.isEmpty()) {
            return s.append("<text x=\"20\" y=\"40\">no samples</text></svg>\n").toString();
        }
        double lo = 0;
        double hi = 0;
        for (ScenarioRunner.Sample x : samples) {
            lo = Math.min(lo, x.offsetNs());
            hi = Math.max(hi, x.offsetNs());
        }
        if (hi - lo < 10) {
            hi += 5;
            lo -= 5;
        }
        double pad = (hi - lo) * 0.05;
        lo -= pad;
        hi += pad;
        double pw = W - L - R;
        double ph = H - T - B;
        double xmax = Math.max(1, durationNs);
        s.append("<line x1=\"").append(L).append("\" y1=\"").append(T).append("\" x2=\"").append(L).append("\" y2=\"").append(H - B)
                .append("\" stroke=\"black\"/>\n");
        s.append("<line x1=\"").append(L).append("\" y1=\"").append(H - B).append("\" x2=\"").append(W - R).append("\" y2=\"").append(H - B)
                .append("\" stroke=\"black\"/>\n");
        for (int i = 0; i <= 4; i++) {
            double v = lo + (hi - lo) * i / 4;
            double y = T + ph - ph * i / 4;
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>"
                    + "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%s</text>%n", L, y, W - R, y, L - 5, y + 4, ns(v)));
            double t = xmax * i / 4;
            double x = L + pw * i / 4;
            s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text>%n",
                    x, H - B + 16, secs(t)));
        }
        if (lo < 0 && hi > 0) {
            double y0 = T + ph * (hi - 0) / (hi - lo);
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>%n",
                    L, y0, W - R, y0));
        }
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">host time</text>%n",
                L + (int) pw / 2, H - 12));
        s.append("<polyline fill=\"none\" stroke=\"#1f5fbf\" stroke-width=\"1.5\" points=\"");
        for (ScenarioRunner.Sample x : samples) {
            double px = L + pw * x.atNs() / xmax;
            double py = T + ph * (hi - x.offsetNs()) / (hi - lo);
            s.append(String.format(Locale.ROOT, "%.1f,%.1f ", px, py));
        }
        s.append("\"/>\n</svg>\n");
        return s.toString();
    }

    private static String ns(double v) {
        double a = Math.abs(v);
        if (a >= 1e6) {
            return String.format(Locale.ROOT, "%.3f ms", v / 1e6);
        }
        if (a >= 1e3) {
            return String.format(Locale.ROOT, "%.2f µs", v / 1e3);
        }
        return String.format(Locale.ROOT, "%.0f ns", v);
    }

    private static String secs(double ns) {
        double s = ns / 1e9;
        if (s >= 7200) {
            return String.format(Locale.ROOT, "%.1f h", s / 3600);
        }
        return String.format(Locale.ROOT, "%.0f s", s);
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
