package org.xlstm.jvm.model;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.ModelConfig;
import org.xlstm.jvm.config.OfficialConfigs;
import org.xlstm.jvm.config.XlstmConfig;
import org.xlstm.jvm.config.XlstmLargeConfig;
import org.xlstm.jvm.io.SafeTensors;
import org.xlstm.jvm.nn.ParamSource;

/** Builds language models from official configs: with checkpoint weights, or freshly initialised. */
public final class Models {
    private Models() {}

    /** Chunk length for the xLSTM LM's chunkwise form; xLSTM-7B uses its config's chunk_size. */
    public static final int LM_CHUNK = XlstmLmModel.DEFAULT_CHUNK;

    /** A checkpoint directory (config.json + model.safetensors or a sharded index). */
    public static LanguageModel open(Path dir, Ops ops) {
        return load(OfficialConfigs.loadDirectory(dir), dir, ops);
    }

    /**
     * The architecture of {@code config} with the weights in {@code weights} (a .safetensors file or a directory).
     * Every missing, unexpected or mis-shaped tensor is reported together in one {@link WeightLoadException}.
     */
    public static LanguageModel load(ModelConfig config, Path weights, Ops ops) {
        return load(config, weights, ops, 0);
    }

    /** As {@link #load(ModelConfig, Path, Ops)} with a chunk length for the chunkwise form (0: the default). */
    public static LanguageModel load(ModelConfig config, Path weights, Ops ops, int chunkSize) {
        if (!Files.exists(weights)) throw new IllegalArgumentException("weights not found: " + weights);
        Arena arena = Arena.ofShared();
        try (SafeTensors st = SafeTensors.open(weights)) {
            CheckpointParams params = new CheckpointParams(st, arena, weights.toString());
            LanguageModel m = build(config, params, ops, arena, chunkSize);
            params.finish();
            return m;
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Freshly initialised by the official rules, seeded. */
    public static LanguageModel initialized(ModelConfig config, long seed, Ops ops) {
        Arena arena = Arena.ofShared();
        try {
            return build(config, new InitParams(arena, seed), ops, arena, 0);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    static LanguageModel build(ModelConfig config, ParamSource params, Ops ops, Arena arena, int chunkSize) {
        config.validated();
        // a device backend gets its parameters in its own memory, where training can update them in place
        if (!ops.hostMemory()) params = new ResidentParams(params, ops);
        return switch (config) {
            case XlstmConfig c -> XlstmLmModel.build(c, params, ops, arena, chunkSize > 0 ? chunkSize : LM_CHUNK);
            case XlstmLargeConfig c -> XlstmLargeModel.build(c, params, ops, arena, chunkSize > 0 ? chunkSize : c.chunkSize());
        };
    }
}
