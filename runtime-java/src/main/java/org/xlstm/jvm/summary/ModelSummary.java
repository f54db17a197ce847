package org.xlstm.jvm.summary;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.xlstm.jvm.config.BlockKind;
import org.xlstm.jvm.config.BlockPlacement;
import org.xlstm.jvm.config.ConfigValidator;
import org.xlstm.jvm.config.ModelConfig;
import org.xlstm.jvm.config.ParamSpec;
import org.xlstm.jvm.config.ParameterShapes;
import org.xlstm.jvm.config.XlstmConfig;
import org.xlstm.jvm.config.XlstmLargeConfig;

/**
 * Size and cost of an architecture, from its config alone.
 *
 * <p>Conventions:
 * <ul>
 *   <li><b>Parameters</b>: distinct trainable scalars, from {@link ParameterShapes} (the official state_dict):
 *       a tied lm_head counts once (it is the embedding matrix); the xLSTM-7B lm_head is never tied.</li>
 *   <li><b>Forward FLOPs per token</b> at sequence length {@code seqLen}: 2 FLOPs per multiply-add of every matrix
 *       product: dense and block-diagonal projections, depthwise causal convolutions, the sLSTM recurrent
 *       matrices, the mLSTM cell and the lm_head. Element-wise work (norms, activations, gates, exponentials,
 *       bias additions) and the embedding lookup are not counted. The mLSTM cell is costed in its <em>parallel
 *       form</em> at length S = seqLen with the causal mask honoured: token t meets t keys, (S + 1)/2 on average,
 *       each costing DHQK multiply-adds for q·k and DHV for the weighted value sum, so NH·(S + 1)·(DHQK + DHV)
 *       FLOPs per token (DHQK = DHV = DH in the xLSTM LM). The recurrent step form instead costs about
 *       4·NH·DHQK·DHV per token whatever the length; the parallel count is above it once S is near 2·DH.</li>
 *   <li><b>Recurrent state per sequence</b> (fp32 bytes, what generation carries from token to token): mLSTM
 *       C (NH·DH·DH) + n (NH·DH) + m (NH) + the causal-conv window of K−1 previous inputs (K−1)·u; sLSTM
 *       h, c, n, m (D each) + conv window (K−1)·D (none when K = 0); xLSTM-7B C (NH·DHQK·DHV) + n (NH·DHQK)
 *       + m (NH). (The official conv step keeps K inputs, the current one included; only K−1 survive a step.)</li>
 *   <li><b>Weight bytes</b>: parameters × 4 (fp32) and × 2 (bf16).</li>
 *   <li>Human units in {@link #render()}: counts in K/M/B (10³ steps), bytes in kB/MB/GB (10³ steps).</li>
 * </ul>
 *
 * @param blockMap              one letter per block (m/s), groups of 8 separated by spaces
 * @param lmHeadParameters      own parameters of the lm_head: 0 when tied to the embedding
 * @param normParameters        the final norm (post_blocks_norm / out_norm), 0 when absent
 * @param flopsPerToken         whole forward pass incl. lm_head, per token, at {@code seqLen}
 */
public record ModelSummary(
        ModelConfig config,
        int seqLen,
        String blockMap,
        List<Block> blocks,
        long embeddingParameters,
        long lmHeadParameters,
        boolean lmHeadTied,
        long normParameters,
        long parameters,
        long lmHeadFlopsPerToken,
        long flopsPerToken,
        long stateBytesPerSequence,
        long weightBytesFp32,
        long weightBytesBf16) {

    /** One block: its parameters (norms included), forward FLOPs per token and fp32 recurrent state. */
    public record Block(int index, BlockKind kind, boolean feedForward, long parameters, long flopsPerToken, long stateBytes) {
        /** "mLSTM", "sLSTM", or with "+FFN" when the block has a feed-forward. */
        public String label() {
            return (kind == BlockKind.MLSTM ? "mLSTM" : "sLSTM") + (feedForward ? "+FFN" : "");
        }
    }

    public ModelSummary {
        blocks = List.copyOf(blocks);
    }

    /** Summarises a valid architecture (throws {@link org.xlstm.jvm.config.ConfigException} otherwise). */
    public static ModelSummary of(ModelConfig config, int seqLen) {
        if (seqLen < 1) throw new IllegalArgumentException("seqLen must be at least 1; got " + seqLen);
        ConfigValidator.requireValid(config);
        List<BlockKind> map = config.blockMap();
        List<Block> rows = new ArrayList<>();
        long blockParams = 0, flops = 0, state = 0;
        for (int i = 0; i < config.numBlocks(); i++) {
            long p = 0;
            boolean ffn = false;
            for (ParamSpec s : ParameterShapes.block(config, i)) {
                p += s.ownParameters();
                ffn |= s.name().contains(".ffn.");
            }
            long f = Costs.blockFlops(config, i, seqLen);
            long st = Costs.blockStateScalars(config, i) * Costs.FP32;
            rows.add(new Block(i, map.get(i), ffn, p, f, st));
            blockParams += p;
            flops += f;
            state += st;
        }
        long embedding = 0, head = 0, norm = 0, total = 0;
        boolean tied = false;
        for (ParamSpec s : ParameterShapes.of(config)) {
            total += s.ownParameters();
            switch (s.name()) {
                case "token_embedding.weight", "embedding.weight" -> embedding += s.numel();
                case "lm_head.weight" -> {
                    head += s.ownParameters();
                    tied = s.tiedToOther();
                }
                default -> {
                    if (!s.name().startsWith(ParameterShapes.LM_BLOCKS) && !s.name().startsWith(ParameterShapes.LARGE_BLOCKS))
                        norm += s.numel();
                }
            }
        }
        if (total != blockParams + embedding + head + norm)
            throw new IllegalStateException("parameter rows do not add up: " + total + " vs "
                    + (blockParams + embedding + head + norm));
        long headFlops = Costs.lmHeadFlops(config);
        flops += headFlops;
        return new ModelSummary(config, seqLen, BlockPlacement.draw(map, 8), rows, embedding, head, tied, norm, total,
                headFlops, flops, state, total * 4, total * 2);
    }

    /** "xlstm" (official xLSTMLMModel) or "xlstm_large" (xLSTM-7B). */
    public String architecture() { return config instanceof XlstmLargeConfig ? "xlstm_large" : "xlstm"; }

    // ------------------------------------------------------------------ JSON

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** One JSON object (fields snake_case, counts as integers). */
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("architecture", architecture());
        m.put("parameters", parameters);
        m.put("seq_len", seqLen);
        m.put("block_map", blockMap);
        m.put("num_blocks", blocks.size());
        m.put("embedding_dim", config.embeddingDim());
        m.put("vocab_size", config.vocabSize());
        List<Map<String, Object>> bs = new ArrayList<>();
        for (Block b : blocks) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("index", b.index());
            r.put("kind", b.kind() == BlockKind.MLSTM ? "mlstm" : "slstm");
            r.put("feedforward", b.feedForward());
            r.put("parameters", b.parameters());
            r.put("flops_per_token", b.flopsPerToken());
            r.put("state_bytes", b.stateBytes());
            bs.add(r);
        }
        m.put("blocks", bs);
        m.put("embedding_parameters", embeddingParameters);
        m.put("lm_head_parameters", lmHeadParameters);
        m.put("lm_head_tied", lmHeadTied);
        m.put("norm_parameters", normParameters);
        m.put("flops_per_token", flopsPerToken);
        m.put("lm_head_flops_per_token", lmHeadFlopsPerToken);
        m.put("state_bytes_per_sequence", stateBytesPerSequence);
        m.put("weight_bytes_fp32", weightBytesFp32);
        m.put("weight_bytes_bf16", weightBytesBf16);
        try {
            return JSON.writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ------------------------------------------------------------------ text

    /** A readable table: block map, per-block parameters/FLOPs/state, totals in human units. */
    public String render() {
        StringBuilder sb = new StringBuilder();
        if (config instanceof XlstmLargeConfig c)
            sb.append(String.format(Locale.ROOT, "xLSTM-7B architecture (xlstm_large): %d blocks, embedding_dim %d, %d heads, vocab %d%n",
                    c.numBlocks(), c.embeddingDim(), c.numHeads(), c.vocabSize()));
        else {
            XlstmConfig c = (XlstmConfig) config;
            long s = blocks.stream().filter(b -> b.kind() == BlockKind.SLSTM).count();
            long m = blocks.size() - s;
            long g = java.math.BigInteger.valueOf(m).gcd(java.math.BigInteger.valueOf(s)).longValue();
            sb.append(String.format(Locale.ROOT, "xLSTM[%d:%d] language model: %d blocks, embedding_dim %d, vocab %d, context_length %d%n",
                    m / g, s / g, c.numBlocks(), c.embeddingDim(), c.vocabSize(), c.contextLength()));
        }
        sb.append("block map: ").append(blockMap).append("\n\n");
        String row = "%-18s %12s %14s %14s%n";
        sb.append(String.format(Locale.ROOT, row, "block", "parameters", "FLOPs/token", "state (fp32)"));
        for (Block b : blocks)
            sb.append(String.format(Locale.ROOT, row, String.format(Locale.ROOT, "%5d  %s", b.index(), b.label()),
                    count(b.parameters()), count(b.flopsPerToken()), bytes(b.stateBytes())));
        sb.append(String.format(Locale.ROOT, row, "embedding", count(embeddingParameters), "", ""));
        sb.append(String.format(Locale.ROOT, row, "lm_head", lmHeadTied ? "tied" : count(lmHeadParameters),
                count(lmHeadFlopsPerToken), ""));
        if (normParameters > 0) sb.append(String.format(Locale.ROOT, row, "final norm", count(normParameters), "", ""));
        sb.append('\n');
        sb.append(String.format(Locale.ROOT, "parameters:             %s (%,d)%s%n", count(parameters), parameters,
                lmHeadTied ? ", lm_head tied to the embedding: counted once" : ""));
        sb.append(String.format(Locale.ROOT, "forward FLOPs/token:    %s at seq_len %d (mLSTM cell in causal parallel form)%n",
                count(flopsPerToken), seqLen));
        sb.append(String.format(Locale.ROOT, "state per sequence:     %s (fp32)%n", bytes(stateBytesPerSequence)));
        sb.append(String.format(Locale.ROOT, "weights:                %s fp32, %s bf16%n", bytes(weightBytesFp32), bytes(weightBytesBf16)));
        return sb.toString();
    }

    /** 1234 → "1.2K", 125_300_000 → "125.3M", 6.9e9 → "6.9B"; below 1000 as is. */
    public static String count(long n) {
        return human(n, new String[] {"", "K", "M", "B", "T", "P"}, "");
    }

    /** Bytes in decimal units: 1_200_000_000 → "1.2 GB". */
    public static String bytes(long n) {
        return human(n, new String[] {" B", " kB", " MB", " GB", " TB", " PB"}, "");
    }

    private static String human(long n, String[] units, String suffix) {
        double v = n;
        int u = 0;
        while (Math.abs(v) >= 999.95 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        return (u == 0 ? Long.toString(n) : String.format(Locale.ROOT, "%.1f", v)) + units[u] + suffix;
    }
}
