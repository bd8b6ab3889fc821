package io.kvmclock.demo;

import java.util.List;
import java.util.Locale;

/**
 * An SVG strip chart: one row per method, one dot per trial at |error| on a log axis (0 drawn at the left
 * edge), the median as a bar. Written by hand so the report needs nothing but a browser.
 */
public final class ErrorChart {
    private ErrorChart() {}

    public record Row(String label, long[] values, boolean supported) {}

    private static final int LEFT = 190;
    private static final int WIDTH = 900;
    private static final int ROW = 34;
    private static final String[] COLORS = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

    public static String svg(String title, String unit, List<Row> rows) {
        long max = 1;
        for (Row r : rows) {
            for (long v : r.values()) {
                max = Math.max(max, Math.abs(v));
            }
        }
        int decades = Math.max(1, (int) Math.ceil(Math.log10(max + 1.0)));
        int height = 70 + ROW * rows.size() + 40;
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT,
                "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' font-family='sans-serif' font-size='12'>%n",
                WIDTH, height));
        b.append(String.format(Locale.ROOT, "<text x='%d' y='20' font-size='15' font-weight='bold'>%s</text>%n", 10, esc(title)));
        int plotW = WIDTH - LEFT - 30;
        int top = 40;
        int bottom = top + ROW * rows.size();
        for (int d = 0; d <= decades; d++) {
            double x = LEFT + xOf(d == 0 ? 0 : Math.pow(10, d), decades, plotW);
            b.append(String.format(Locale.ROOT, "<line x1='%.1f' y1='%d' x2='%.1f' y2='%d' stroke='#ddd'/>%n", x, top, x, bottom));
            b.append(String.format(Locale.ROOT, "<text x='%.1f' y='%d' text-anchor='middle'>%s</text>%n", x, bottom + 16,
                    tick(d)));
        }
        double band = LEFT + xOf(1, decades, plotW);
        b.append(String.format(Locale.ROOT, "<rect x='%d' y='%d' width='%.1f' height='%d' fill='#2ca02c' fill-opacity='0.12'/>%n",
                LEFT, top, band - LEFT, bottom - top));
        b.append(String.format(Locale.ROOT, "<text x='%.1f' y='%d' fill='#2ca02c' font-size='10'>&#177;1</text>%n",
                band + 2, top + 10));
        double x0 = LEFT;
        b.append(String.format(Locale.ROOT, "<line x1='%.1f' y1='%d' x2='%.1f' y2='%d' stroke='#999'/>%n", x0, top, x0, bottom));
        b.append(String.format(Locale.ROOT, "<text x='%d' y='%d' text-anchor='middle'>|error| (%s, log scale; 0 at the left edge)</text>%n",
                LEFT + plotW / 2, bottom + 34, esc(unit)));
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            int y = top + ROW * i + ROW / 2;
            b.append(String.format(Locale.ROOT, "<text x='%d' y='%d' text-anchor='end'>%s</text>%n", LEFT - 10, y + 4, esc(r.label())));
            if (!r.supported()) {
                b.append(String.format(Locale.ROOT, "<text x='%d' y='%d' fill='#999'>unsupported on this kernel</text>%n", LEFT + 10, y + 4));
                continue;
            }
            String color = COLORS[i % COLORS.length];
            long[] vs = r.values();
            for (int k = 0; k < vs.length; k++) {
                double x = LEFT + xOf(Math.abs(vs[k]), decades, plotW);
                double jitter = ((k * 7919L) % 17 - 8) * 1.1;
                b.append(String.format(Locale.ROOT, "<circle cx='%.1f' cy='%.1f' r='2.5' fill='%s' fill-opacity='0.55'/>%n",
                        x, y + jitter, color));
            }
            Summary s = Summary.ofAbsolute(vs);
            double xm = LEFT + xOf(s.median(), decades, plotW);
            b.append(String.format(Locale.ROOT, "<line x1='%.1f' y1='%d' x2='%.1f' y2='%d' stroke='black' stroke-width='2'/>%n",
                    xm, y - 12, xm, y + 12));
        }
        b.append("</svg>\n");
        return b.toString();
    }

    /** log10(1 + v) scaled to the plot: 0 sits on the left edge. */
    private static double xOf(double v, int decades, int plotW) {
        return Math.log10(1 + v) / decades * plotW;
    }

    private static String tick(int decade) {
        return switch (decade) {
            case 0 -> "0";
            case 1 -> "10";
            case 2 -> "100";
            case 3 -> "1k";
            case 4 -> "10k";
            case 5 -> "100k";
            case 6 -> "1M";
            case 7 -> "10M";
            case 8 -> "100M";
            default -> "1e" + decade;
        };
    }

    public static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;");
    }
}
