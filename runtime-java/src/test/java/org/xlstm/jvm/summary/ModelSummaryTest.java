package org.xlstm.jvm.summary;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.config.BlockKind;
import org.xlstm.jvm.config.ConfigException;
import org.xlstm.jvm.config.FeedForwardConfig;
import org.xlstm.jvm.config.FixtureCases;
import org.xlstm.jvm.config.MlstmLayerConfig;
import org.xlstm.jvm.config.ModelConfig;
import org.xlstm.jvm.config.OfficialConfigs;
import org.xlstm.jvm.config.RandomConfigs;
import org.xlstm.jvm.config.SafetensorsHeader;
import org.xlstm.jvm.config.SlstmBlockConfig;
import org.xlstm.jvm.config.SlstmLayerConfig;
import org.xlstm.jvm.config.XlstmConfig;
import org.xlstm.jvm.config.XlstmLargeConfig;

class ModelSummaryTest {

    /** The official count: the checkpoint's element count, a tied lm_head (same bytes as the embedding) once. */
    @Test
    void parametersEqualEveryFixtureCheckpoint() throws Exception {
        for (Path dir : FixtureCases.all()) {
            ModelSummary s = ModelSummary.of(OfficialConfigs.readDirectory(dir), 16);
            assertEquals(SafetensorsHeader.officialCount(dir.resolve("model.safetensors")), s.parameters(), dir.toString());
            assertEquals(4 * s.parameters(), s.weightBytesFp32());
            assertEquals(2 * s.parameters(), s.weightBytesBf16());
        }
    }

    @Test
    void rowsAddUpForRandomArchitectures() {
        RandomConfigs random = new RandomConfigs(99);
        for (int i = 0; i < 200; i++) {
            ModelConfig c = random.next();
            ModelSummary s = ModelSummary.of(c, 1 + i % 64);
            long blocks = s.blocks().stream().mapToLong(ModelSummary.Block::parameters).sum();
            assertEquals(s.parameters(), blocks + s.embeddingParameters() + s.lmHeadParameters() + s.normParameters());
            assertEquals(s.flopsPerToken(), s.blocks().stream().mapToLong(ModelSummary.Block::flopsPerToken).sum()
                    + s.lmHeadFlopsPerToken());
            assertEquals(s.stateBytesPerSequence(), s.blocks().stream().mapToLong(ModelSummary.Block::stateBytes).sum());
            assertEquals(c.numBlocks(), s.blocks().size());
        }
    }

    /** xLSTM[3:1] with D=64: mLSTM u=128, 4 heads (DH 32), K=4, blocks of 4; sLSTM 4 heads (DH 16), FFN H=128. */
    private static XlstmConfig mixed() {
        return XlstmConfig.builder().vocabSize(64).contextLength(32).numBlocks(4).embeddingDim(64).slstmAt(1)
                .mlstm(MlstmLayerConfig.DEFAULTS).slstmBlock(SlstmBlockConfig.DEFAULTS).build();
    }

    @Test
    void handCountedFlopsAndStateOfAnXlstmStack() {
        ModelSummary s = ModelSummary.of(mixed(), 32);
        long mlstm = 2 * (64 * 256      // proj_up
                + 4 * 128               // depthwise conv, K=4
                + 3 * 128 * 4           // q, k, v: 32 blocks of 4×4
                + 2 * 384 * 4           // i, f gates from 3u to NH
                + 128 * 64)             // proj_down
                + 4 * 33 * (32 + 32);   // cell: NH·(S+1)·(DH+DH)
        long slstm = 2 * (4 * 64        // conv
                + 4 * 64 * 16           // four gate projections, 4 blocks of 16×16
                + 4 * 64 * 16           // recurrent matrices
                + 64 * 256 + 128 * 64); // FFN up (2H×D) and down (D×H)
        assertEquals(mlstm, s.blocks().get(0).flopsPerToken());
        assertEquals(slstm, s.blocks().get(1).flopsPerToken());
        assertEquals(2 * 64 * 64, s.lmHeadFlopsPerToken());
        assertEquals(3 * mlstm + slstm + 2 * 64 * 64, s.flopsPerToken());
        long mState = 4L * (4 * 32 * 32 + 4 * 32 + 4 + 3 * 128); // C, n, m, conv window K-1
        long sState = 4L * (4 * 64 + 3 * 64);                    // h, c, n, m, conv window
        assertEquals(mState, s.blocks().get(0).stateBytes());
        assertEquals(sState, s.blocks().get(1).stateBytes());
        assertEquals(3 * mState + sState, s.stateBytesPerSequence());
        assertEquals("msmm", s.blockMap());
        assertEquals(BlockKind.SLSTM, s.blocks().get(1).kind());
        assertTrue(s.blocks().get(1).feedForward());
        assertFalse(s.blocks().get(0).feedForward());
    }

    @Test
    void handCountedFlopsAndStateOfXlstm7bArchitecture() {
        // D=64, 4 heads, qk 32 (DHQK 8), v 64 (DHV 16), FFN H = round_up(64·2.6667, 64) = 192
        ModelSummary s = ModelSummary.of(XlstmLargeConfig.defaults(64, 4, 2, 50), 32);
        long block = 2 * (64 * (32 + 32 + 64 + 64 + 4 + 4) + 64 * 64 + 3 * 64 * 192) + 4 * 33 * (8 + 16);
        assertEquals(block, s.blocks().get(0).flopsPerToken());
        assertEquals(2 * block + 2 * 64 * 50, s.flopsPerToken());
        assertEquals(4L * 4 * (8 * 16 + 8 + 1), s.blocks().get(0).stateBytes());
        assertFalse(s.lmHeadTied());
        assertEquals("mm", s.blockMap());
        assertEquals(s.parameters() * 2, s.weightBytesBf16());
    }

    @Test
    void onlyTheMlstmCellGrowsWithSequenceLength() {
        XlstmConfig c = mixed();
        ModelSummary a = ModelSummary.of(c, 100), b = ModelSummary.of(c, 101);
        assertEquals(4 * 64, b.blocks().get(0).flopsPerToken() - a.blocks().get(0).flopsPerToken()); // NH·2·DH
        assertEquals(a.blocks().get(1).flopsPerToken(), b.blocks().get(1).flopsPerToken());
        assertEquals(a.parameters(), b.parameters());
        assertEquals(a.stateBytesPerSequence(), b.stateBytesPerSequence());
    }

    @Test
    void tiedHeadCountsOnceAndNoConvMeansNoWindow() {
        XlstmConfig untied = mixed();
        ModelSummary u = ModelSummary.of(untied, 8);
        ModelSummary t = ModelSummary.of(untied.toBuilder().tieWeights(true).build(), 8);
        assertEquals(u.parameters() - 64 * 64, t.parameters());
        assertTrue(t.lmHeadTied());
        assertEquals(0, t.lmHeadParameters());
        assertEquals(u.flopsPerToken(), t.flopsPerToken(), "a tied head still computes");

        XlstmConfig noConv = untied.toBuilder().slstm(SlstmLayerConfig.DEFAULTS.withConv1dKernelSize(0))
                .feedForward(null).build();
        ModelSummary n = ModelSummary.of(noConv, 8);
        assertEquals(4L * 4 * 64, n.blocks().get(1).stateBytes());
        assertEquals(2 * (2 * 4 * 64 * 16), n.blocks().get(1).flopsPerToken());
        assertFalse(n.blocks().get(1).feedForward());
    }

    @Test
    void blockMapIsGroupedByEight() {
        XlstmConfig c = XlstmConfig.builder().vocabSize(10).contextLength(8).embeddingDim(32).numBlocks(16).ratio(7, 1)
                .mlstm(MlstmLayerConfig.DEFAULTS).slstmBlock(SlstmBlockConfig.DEFAULTS).build();
        assertEquals("mmmsmmmm mmmsmmmm", ModelSummary.of(c, 8).blockMap());
    }

    @Test
    void jsonHasTheAgreedFields() throws Exception {
        ModelSummary s = ModelSummary.of(mixed(), 32);
        JsonNode j = new ObjectMapper().readTree(s.toJson());
        assertEquals(s.parameters(), j.get("parameters").asLong());
        assertTrue(j.get("parameters").isIntegralNumber());
        assertEquals(32, j.get("seq_len").asInt());
        assertEquals("msmm", j.get("block_map").asText());
        assertEquals(s.flopsPerToken(), j.get("flops_per_token").asLong());
        assertEquals(s.stateBytesPerSequence(), j.get("state_bytes_per_sequence").asLong());
        assertEquals(4 * s.parameters(), j.get("weight_bytes_fp32").asLong());
        assertEquals(2 * s.parameters(), j.get("weight_bytes_bf16").asLong());
        assertEquals(4, j.get("blocks").size());
        JsonNode b1 = j.get("blocks").get(1);
        assertEquals("slstm", b1.get("kind").asText());
        assertEquals(s.blocks().get(1).parameters(), b1.get("parameters").asLong());
        assertEquals(s.blocks().get(1).flopsPerToken(), b1.get("flops_per_token").asLong());
        assertEquals("xlstm", j.get("architecture").asText());
    }

    @Test
    void renderShowsMapRowsAndTotalsInHumanUnits() {
        ModelSummary s = ModelSummary.of(mixed().toBuilder().tieWeights(true).build(), 32);
        String r = s.render();
        assertTrue(r.contains("block map: msmm"), r);
        assertTrue(r.contains("xLSTM[3:1]"), r);
        assertTrue(r.contains("sLSTM+FFN"), r);
        assertTrue(r.contains(String.format(java.util.Locale.ROOT, "(%,d)", s.parameters())), r);
        assertTrue(r.contains("tied"), r);
        assertTrue(r.contains(ModelSummary.count(s.blocks().get(0).parameters())), r);
        assertTrue(r.contains("seq_len 32"), r);
        String big = ModelSummary.of(XlstmLargeConfig.xlstm7b(), 4096).render();
        assertTrue(big.contains("6.9B"), big);
        assertTrue(big.contains("27.5 GB fp32"), big);
    }

    @Test
    void humanUnits() {
        assertEquals("999", ModelSummary.count(999));
        assertEquals("1.2K", ModelSummary.count(1234));
        assertEquals("125.3M", ModelSummary.count(125_300_000));
        assertEquals("1.0M", ModelSummary.count(999_960));
        assertEquals("6.9B", ModelSummary.count(6_865_424_896L));
        assertEquals("1.2 GB", ModelSummary.bytes(1_200_000_000L));
        assertEquals("512 B", ModelSummary.bytes(512));
        assertEquals("18.4 kB", ModelSummary.bytes(18_448));
    }

    @Test
    void rejectsInvalidInput() {
        assertThrows(ConfigException.class, () -> ModelSummary.of(mixed().toBuilder().embeddingDim(62).buildUnchecked(), 8));
        assertThrows(IllegalArgumentException.class, () -> ModelSummary.of(mixed(), 0));
        assertThrows(ConfigException.class, () -> ModelSummary.of(mixed().toBuilder()
                .feedForward(FeedForwardConfig.DEFAULTS.withProjFactor(-1)).buildUnchecked(), 8));
    }
}
