package org.xlstm.jvm.train;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A PNG of the run: loss by step (training, and each evaluation split) beside accuracy by step, drawn with XChart
 * without a display (java.awt.headless). XChart is loaded only here; without it on the class path the trainer
 * notes that the plot was skipped.
 */
public final class TrainingPlot {
    private TrainingPlot() {}

    /** Whether XChart is on the class path. */
    public static boolean available() {
        try {
            Class.forName("org.knowm.xchart.XYChart", false, TrainingPlot.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    /** Draws the curves in {@code records} (metrics.jsonl lines) into {@code png}. */
    public static void write(List<JsonNode> records, Path png, String title) {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
        Map<String, double[][]> loss = series(records, "loss");
        Map<String, double[][]> accuracy = series(records, "accuracy");
        try {
            Files.createDirectories(png.toAbsolutePath().getParent());
            Charts.draw(title, loss, accuracy, png);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write plot " + png + ": " + e.getMessage(), e);
        }
    }

    /** Per series ("train", "eval <split>"): steps and values of the field, where present and finite. */
    static Map<String, double[][]> series(List<JsonNode> records, String field) {
        Map<String, List<double[]>> points = new LinkedHashMap<>();
        for (JsonNode r : records) {
            JsonNode v = r.get(field);
            if (v == null || !v.isNumber() || !Double.isFinite(v.asDouble())) continue;
            String name = "eval".equals(r.path("kind").asText()) ? "eval " + r.path("split").asText() : r.path("kind").asText();
            points.computeIfAbsent(name, k -> new ArrayList<>()).add(new double[] {r.path("step").asDouble(), v.asDouble()});
        }
        Map<String, double[][]> out = new LinkedHashMap<>();
        points.forEach((k, list) -> {
            double[][] xy = new double[2][list.size()];
            for (int i = 0; i < list.size(); i++) {
                xy[0][i] = list.get(i)[0];
                xy[1][i] = list.get(i)[1];
            }
            out.put(k, xy);
        });
        return out;
    }

    /** The XChart calls, in a nested class so that the outer class loads without XChart. */
    private static final class Charts {
        static void draw(String title, Map<String, double[][]> loss, Map<String, double[][]> accuracy, Path png) throws IOException {
            List<org.knowm.xchart.XYChart> charts = new ArrayList<>();
            // Legends in the corner the curves leave free: loss falls (top right), accuracy rises (bottom right).
            charts.add(chart(title + " — loss", "loss", loss, org.knowm.xchart.style.Styler.LegendPosition.InsideNE));
            if (!accuracy.isEmpty())
                charts.add(chart(title + " — accuracy", "accuracy", accuracy, org.knowm.xchart.style.Styler.LegendPosition.InsideSE));
            String base = png.toString().endsWith(".png") ? png.toString().substring(0, png.toString().length() - 4) : png.toString();
            org.knowm.xchart.BitmapEncoder.saveBitmap(charts, 1, charts.size(), base, org.knowm.xchart.BitmapEncoder.BitmapFormat.PNG);
        }

        static org.knowm.xchart.XYChart chart(String title, String yTitle, Map<String, double[][]> series,
                                              org.knowm.xchart.style.Styler.LegendPosition legend) {
            org.knowm.xchart.XYChart c = new org.knowm.xchart.XYChartBuilder().width(640).height(420).title(title)
                    .xAxisTitle("step").yAxisTitle(yTitle).build();
            c.getStyler().setMarkerSize(3);
            c.getStyler().setLegendPosition(legend);
            c.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
            if (series.isEmpty()) c.addSeries("(no data yet)", new double[] {0}, new double[] {0});
            series.forEach((name, xy) -> c.addSeries(name, xy[0], xy[1]));
            return c;
        }
    }
}
