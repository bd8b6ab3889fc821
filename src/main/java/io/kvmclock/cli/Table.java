package io.kvmclock.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** A plain aligned text table: label, value (right-aligned), note. */
final class Table {
    private final List<String[]> rows = new ArrayList<>();

    Table row(String label, String value, String note) {
        rows.add(new String[] {label, value, note});
        return this;
    }

    void print(PrintWriter out) {
        int l = 0;
        int v = 0;
        for (String[] r : rows) {
            l = Math.max(l, r[0].length());
            v = Math.max(v, r[1].length());
        }
        for (String[] r : rows) {
            String line = String.format("%-" + l + "s  %" + v + "s", r[0], r[1]);
            out.println(r[2].isEmpty() ? line : line + "  " + r[2]);
        }
        out.flush();
    }
}
