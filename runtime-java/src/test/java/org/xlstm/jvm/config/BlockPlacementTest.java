package org.xlstm.jvm.config;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

class BlockPlacementTest {
    @Test
    void ratioSevenToOnePutsSlstmInTheMiddleOfEachGroupOfEight() {
        assertEquals(List.of(3, 11, 19), BlockPlacement.ratio(7, 1, 24));
    }

    @Test
    void ratioCornerCases() {
        assertEquals(List.of(1), BlockPlacement.ratio(3, 1, 4));
        assertEquals(List.of(0, 2), BlockPlacement.ratio(1, 1, 4));
        assertEquals(List.of(0, 2), BlockPlacement.ratio(1, 2, 3));
        assertEquals(List.of(0, 1, 2), BlockPlacement.ratio(0, 1, 3));
        assertEquals(List.of(), BlockPlacement.ratio(1, 0, 5));
    }

    @Test
    void ratioThatTheBlockCountCannotRealizeNamesBoth() {
        ConfigException e = assertThrows(ConfigException.class, () -> BlockPlacement.ratio(7, 1, 12));
        assertTrue(e.getMessage().contains("7:1"), e.getMessage());
        assertTrue(e.getMessage().contains("12"), e.getMessage());
        assertEquals("ratio", e.errors().getFirst().field());
    }

    @Test
    void patternRoundTripsThroughDraw() {
        assertEquals(List.of(3), BlockPlacement.pattern("mmms mmmm"));
        XlstmConfig c = XlstmConfig.builder().vocabSize(10).contextLength(8).pattern("mmms mmmm").buildUnchecked();
        assertEquals(8, c.numBlocks());
        assertEquals("mmms mmmm", BlockPlacement.draw(c.blockMap(), 4));
    }

    @Test
    void patternRejectsUnknownLetters() {
        ConfigException e = assertThrows(ConfigException.class, () -> BlockPlacement.pattern("mmxs"));
        assertTrue(e.getMessage().contains("'x'"), e.getMessage());
    }
}
