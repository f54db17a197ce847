package org.xlstm.jvm.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Random architectures that pass {@link ConfigValidator}, with awkward extras at every level, for property tests. */
public final class RandomConfigs {
    private final Random rnd;

    public RandomConfigs(long seed) { this.rnd = new Random(seed); }

    public ModelConfig next() { return rnd.nextInt(4) == 0 ? large() : lm(); }

    private static final String[] TRICKY = {"yes", "no", "on", "null", "~", "1.0", "0x10", "1e-06", "true", "",
            " lead", "trail ", "colon: x", "# hash", "quote\"s", "line1\nline2", "tab\tx", "ünïcødé", "${not.a.ref}",
            "- dash", "[1, 2]", "{a: 1}", "all", "'single'", "back\\slash"};

    private Object scalar() {
        return switch (rnd.nextInt(7)) {
            case 0 -> TRICKY[rnd.nextInt(TRICKY.length)];
            case 1 -> "s" + Long.toString(rnd.nextLong() & 0xffffffL, 36);
            case 2 -> rnd.nextInt(2001) - 1000;
            case 3 -> rnd.nextBoolean() ? rnd.nextLong() : (long) Integer.MAX_VALUE + 1 + rnd.nextInt(1000);
            case 4 -> switch (rnd.nextInt(4)) {
                case 0 -> rnd.nextDouble();
                case 1 -> (rnd.nextDouble() - 0.5) * 1e-7;
                case 2 -> rnd.nextDouble() * 1e12;
                default -> (double) rnd.nextInt(100);
            };
            case 5 -> rnd.nextBoolean();
            default -> null;
        };
    }

    private Object value(int depth) {
        int k = depth >= 2 ? 0 : rnd.nextInt(8);
        if (k == 6) {
            List<Object> l = new ArrayList<>();
            for (int i = rnd.nextInt(4); i > 0; i--) l.add(value(depth + 1));
            return l;
        }
        if (k == 7) return extras(depth + 1, 3);
        return scalar();
    }

    /** Keys start with "x_" so they can never collide with an official key. */
    private Map<String, Object> extras(int depth, int max) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = rnd.nextInt(max + 1); i > 0; i--) m.put("x_" + Integer.toString(rnd.nextInt(1 << 20), 36), value(depth));
        return m;
    }

    private Map<String, Object> extras() { return rnd.nextInt(3) == 0 ? Map.of() : extras(0, 3); }

    private <T> T pick(List<T> l) { return l.get(rnd.nextInt(l.size())); }

    private List<Integer> divisors(int n, int max) {
        List<Integer> out = new ArrayList<>();
        for (int d = 1; d <= Math.min(n, max); d++) if (n % d == 0) out.add(d);
        return out;
    }

    public XlstmConfig lm() {
        int d = 16 * (1 + rnd.nextInt(8));
        int blocks = 1 + rnd.nextInt(8);
        MlstmBlockConfig mlstm = null;
        if (rnd.nextInt(5) != 0) {
            double factor = rnd.nextBoolean() ? pick(List.of(1.0, 1.3, 2.0, 2.5, 4.0 / 3)) : 0.5 + rnd.nextDouble() * 3;
            int multiple = pick(List.of(8, 16, 32, 64));
            boolean up = rnd.nextInt(4) != 0 || UpProjection.size(d, factor, false, multiple) <= 0;
            int u = UpProjection.size(d, factor, up, multiple);
            MlstmLayerConfig layer = new MlstmLayerConfig(pick(divisors(u, 8)), factor, 1 + rnd.nextInt(6),
                    pick(divisors(u, 8)), up, multiple, extras());
            mlstm = new MlstmBlockConfig(layer, extras());
        }
        SlstmBlockConfig slstm = null;
        if (mlstm == null || rnd.nextInt(3) != 0) {
            BiasInit init = pick(List.of(BiasInit.values()));
            List<Integer> heads = divisors(d, 8).stream().filter(h -> init != BiasInit.POWERLAW_BLOCKDEPENDENT || d / h >= 2).toList();
            SlstmLayerConfig layer = new SlstmLayerConfig(pick(heads), rnd.nextInt(6), pick(List.of(SlstmBackend.values())),
                    init, pick(List.of(RecurrentWeightInit.values())), rnd.nextBoolean(), extras());
            FeedForwardConfig ff = null;
            if (rnd.nextInt(4) != 0) {
                double factor = 0.5 + rnd.nextInt(40) / 16.0;
                int multiple = pick(List.of(8, 16, 32, 64));
                boolean up = rnd.nextBoolean() || UpProjection.size(d, factor, false, multiple) <= 0;
                ff = new FeedForwardConfig(factor, pick(List.of(Activation.values())), rnd.nextBoolean(), up, multiple, extras());
            }
            slstm = new SlstmBlockConfig(layer, ff, extras());
        }
        List<Integer> at = new ArrayList<>();
        if (slstm != null) for (int i = 0; i < blocks; i++) if (rnd.nextInt(3) == 0) at.add(i);
        XlstmConfig c = new XlstmConfig(1 + rnd.nextInt(1000), 0, blocks, d, at, mlstm, slstm, rnd.nextBoolean(),
                rnd.nextBoolean(), rnd.nextInt(3) == 0 ? rnd.nextDouble() * 0.5 : 0.0, rnd.nextBoolean(),
                rnd.nextBoolean(), rnd.nextBoolean(), extras());
        boolean hasMlstm = c.blockMap().contains(BlockKind.MLSTM);
        int context = hasMlstm || rnd.nextBoolean() ? 1 + rnd.nextInt(512) : -1;
        return c.toBuilder().contextLength(context).build();
    }

    public XlstmLargeConfig large() {
        int heads = pick(List.of(1, 2, 4, 8));
        int d = 64 * (1 + rnd.nextInt(6));
        Map<String, Object> extras = new LinkedHashMap<>(extras());
        if (rnd.nextInt(3) == 0) {
            extras.put("model_type", "xlstm");
            extras.put("architectures", List.of("xLSTMForCausalLM"));
            extras.put("tie_word_embeddings", false);
            extras.put("pad_token_id", rnd.nextBoolean() ? null : 1);
        }
        return new XlstmLargeConfig(d, heads, 1 + rnd.nextInt(6), 10 + rnd.nextInt(5000), rnd.nextBoolean(),
                rnd.nextDouble() * 1e-4 + 1e-9, rnd.nextBoolean(), rnd.nextBoolean(), pick(List.of(0.25, 0.5, 1.0)),
                pick(List.of(0.5, 1.0, 2.0)), 0.5 + rnd.nextDouble() * 3.5, pick(List.of(32, 64, 128)),
                rnd.nextInt(4) == 0 ? XlstmLargeConfig.NO_SOFT_CAP : 1 + rnd.nextDouble() * 30,
                rnd.nextInt(4) == 0 ? XlstmLargeConfig.NO_SOFT_CAP : 1 + rnd.nextDouble() * 50,
                rnd.nextDouble() * 1e-5 + 1e-9, pick(List.of(16, 32, 64, 128)), pick(List.of(WeightMode.values())),
                extras).validated() instanceof XlstmLargeConfig l ? l : null;
    }
}
