/* Unit tests for src/data/names.c and groups.c: cleaning, folding, base
 * titles of tricky names, grouping decisions and the pairwise score (all
 * expected values written by hand). */
#include <stdlib.h>

#include "base/err.h"
#include "data/groups.h"
#include "data/names.h"
#include "mr_test.h"

static const char *clean(const char *s)
{
    static char buf[1024];
    mr_name_clean(s, strlen(s), buf);
    return buf;
}

static const char *fold(const char *s)
{
    static char buf[3 * 1024];
    mr_name_fold(s, strlen(s), buf);
    return buf;
}

static const char *base(const char *s, int *mk)
{
    static char buf[3 * 1024];
    mr_title_base(s, strlen(s), buf, mk);
    return buf;
}

TEST(names_clean)
{
    CHECK_STR(clean("  Hello \t\n  World  "), "Hello World");
    CHECK_STR(clean(""), "");
    CHECK_STR(clean("   "), "");
    CHECK_STR(clean("A\x01" "B\x7f" "C"), "ABC");                  /* controls */
    CHECK_STR(clean("Zero\xe2\x80\x8bWidth\xef\xbb\xbf"), "ZeroWidth"); /* U+200B, BOM */
    CHECK_STR(clean("no\xc2\xa0" "break\xe3\x80\x80space"), "no break space");
    CHECK_STR(clean("bad \xff\xfe utf8"), "bad utf8");              /* invalid bytes dropped */
    CHECK_STR(clean("Café Ёлка"), "Café Ёлка");                     /* display keeps case and accents */
    CHECK_STR(clean("\xc2\x85lead"), "lead");                       /* NEL is space, trimmed */
}

TEST(names_fold)
{
    CHECK_STR(fold("Beyoncé"), "beyonce");
    CHECK_STR(fold("MÖTLEY CRÜE"), "motley crue");
    CHECK_STR(fold("Straße Æon Œuvre"), "strasse aeon oeuvre");
    CHECK_STR(fold("Łódź Dvořák Şişli"), "lodz dvorak sisli");
    CHECK_STR(fold("Ёлка ЁЖИК"), "елка ежик");                       /* ё -> е */
    CHECK_STR(fold("ПРИВЕТ Мир"), "привет мир");
    CHECK_STR(fold("ЄҐЇ Ў"), "єґї ў");                               /* Ukrainian, Belarusian */
    CHECK_STR(fold("ΆΣΜΑ Σοφός"), "ασμα σοφοσ");                     /* tonos and final sigma */
    CHECK_STR(fold("e\xcc\x81t\xc3\xa9"), "ete");                      /* combining acute (NFD) */
    CHECK_STR(fold("ＡＢＣ１２"), "abc12");                            /* fullwidth */
    CHECK_STR(fold("\xef\xac\x81nal x\xc2\xb2"), "final x2");          /* ligature, superscript */
    CHECK_STR(fold("Rock \xe2\x80\x93 Roll \xe2\x80\x99n\xe2\x80\x9c"), "rock - roll 'n\"");
    CHECK_STR(fold("Wait\xe2\x80\xa6"), "wait...");
    CHECK_STR(fold("日本語 テスト"), "日本語 テスト");                   /* other scripts unchanged */
    CHECK_STR(fold(""), "");
    /* the fold never grows a name past its documented bound */
    const char *worst = "\xef\xac\x83\xef\xac\x83";
    char buf[MR_NAME_FOLD_CAP(6)];
    CHECK(mr_name_fold(worst, 6, buf) <= 3 * 6);
}

TEST(title_base_versions)
{
    int mk;
    CHECK_STR(base("Song (Remix)", &mk), "song");
    CHECK_INT(mk, MR_VER_REMIX);
    CHECK_STR(base("Song - Live", &mk), "song");
    CHECK_INT(mk, MR_VER_LIVE);
    CHECK_STR(base("Song [Acoustic Version]", &mk), "song");
    CHECK(mk & MR_VER_ACOUSTIC);
    CHECK_STR(base("Song - 2011 Remaster", &mk), "song");
    CHECK_STR(base("Song (Radio Edit) - Remastered 2009", &mk), "song");
    CHECK_STR(base("Song (Cover)", &mk), "song");
    CHECK_INT(mk, MR_VER_COVER);
    /* how covers say so */
    CHECK_STR(base("Stay (Acoustic Cover)", &mk), "stay");
    CHECK_INT(mk, MR_VER_COVER | MR_VER_ACOUSTIC);
    CHECK_STR(base("Море - Cover", &mk), "море");
    CHECK_INT(mk, MR_VER_COVER);
    CHECK_STR(base("Зима (Кавер)", &mk), "зима");
    CHECK_INT(mk, MR_VER_COVER);
    CHECK_STR(base("LOVE (PIANO COVER)", &mk), "love");
    CHECK_INT(mk, MR_VER_COVER);
    CHECK_STR(base("Hello (cover by Jane Doe)", &mk), "hello");
    CHECK_INT(mk, MR_VER_COVER);
    CHECK_STR(base("Cover Me", &mk), "cover me"); /* the word in the title itself */
    CHECK_INT(mk, 0);
    CHECK_STR(base("Song (Instrumental)", &mk), "song");
    CHECK_STR(base("Song (Original Mix)", &mk), "song");
    /* nested brackets */
    CHECK_STR(base("Song (feat. A (Remix))", &mk), "song");
    CHECK_INT(mk, MR_VER_FEAT | MR_VER_REMIX);
    CHECK_STR(base("Song [Live (2011 Remaster)]", &mk), "song");
    CHECK_STR(base("Song (Part 2 [Live])", &mk), "song part 2");
    CHECK_STR(base("Song (Remix", &mk), "song");       /* unclosed */
    CHECK_STR(base("Song) (Live)", &mk), "song");      /* stray closer */
    /* feat. spellings */
    const char *feats[] = {"Song (feat. X)", "Song (feat X)", "Song (ft. X)", "Song (Feat. X)", "Song (FEAT X)",
                           "Song (featuring X)", "Song feat. X", "Song ft. X", "Song Featuring X & Y",
                           "Song (с X)", "Song (при уч. X)", "Song при уч. X", "Song (w/ X)", "Song [feat. X]"};
    for (size_t i = 0; i < sizeof feats / sizeof feats[0]; i++) {
        const char *b = base(feats[i], &mk);
        if (strcmp(b, "song") || !(mk & MR_VER_FEAT))
            mr_test_fail(__FILE__, __LINE__, "'%s' -> '%s' markers %d", feats[i], b, mk);
    }
    /* not versions */
    CHECK_STR(base("Love (Is All Around)", &mk), "love is all around");
    CHECK_INT(mk, 0);
    CHECK_STR(base("Left - Right", &mk), "left right");
    CHECK_STR(base("Don't Stop Me Now", &mk), "dont stop me now");
    CHECK_STR(base("Live Forever", &mk), "live forever");
    CHECK_STR(base("Feat", &mk), "feat"); /* a title that is the word itself */
    CHECK_STR(base("Soft", &mk), "soft");   /* "ft" inside a word is not a credit */
    /* non-Latin scripts */
    CHECK_STR(base("Кукушка (Live)", &mk), "кукушка");
    CHECK_STR(base("Ёлка (Ремикс)", &mk), "елка");
    CHECK_STR(base("Группа крови - Акустическая версия", &mk), "группа крови");
    CHECK_STR(base("Σαγαπώ (Remix)", &mk), "σαγαπω");
    CHECK_STR(base("夜に駆ける (Live)", &mk), "夜に駆ける");
    /* empty and bracket-only names */
    CHECK_STR(base("", &mk), "");
    CHECK_STR(base("   ", &mk), "");
    CHECK_STR(base("()", &mk), "");
    CHECK_STR(base("(Remix)", &mk), "remix");
    CHECK_STR(base("[Intro]", &mk), "intro");
    CHECK_STR(base("!!!", &mk), "");
}

static void run_groups(const char **names, const int64_t *artists_per, const int64_t *artists, int n,
                       const int64_t *listens, int32_t *gid)
{
    int64_t name_off[64], art_off[64];
    char bytes[4096];
    name_off[0] = art_off[0] = 0;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(names[i]);
        memcpy(bytes + name_off[i], names[i], l);
        name_off[i + 1] = name_off[i] + (int64_t)l;
        art_off[i + 1] = art_off[i] + artists_per[i];
    }
    mr_group_input in = {n, name_off, bytes, art_off, artists, listens};
    mr_group_stats st;
    CHECK_OK(mr_track_groups(&in, NULL, gid, &st));
}

TEST(track_groups_rules)
{
    const char *names[] = {
        "Smells Like Teen Spirit",                 /* 0 artist 1 */
        "Smells Like Teen Spirit (Live)",          /* 1 artist 1 */
        "Smells Like Teen Spirit",                 /* 2 artist 2: distinctive title, few performers: cover */
        "Intro",                                   /* 3 artist 3 */
        "Intro",                                   /* 4 artist 4: common short title: different song */
        "Intro (Remix)",                           /* 5 artists 4, 5: remix of 4 */
        "Love",                                    /* 6 artist 6 */
        "Love (Cover)",                            /* 7 artist 7: marked cover of the most played Love */
        "Love",                                    /* 8 artist 8 */
        "",                                        /* 9 artist 1: empty names never join */
        "",                                        /* 10 artist 1 */
        "Song (feat. B)",                          /* 11 artists 9, 10 */
        "Song",                                    /* 12 artist 9 */
        "Love",                                    /* 13 artist 13 */
    };
    int64_t per[] = {1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1};
    int64_t artists[] = {1, 1, 2, 3, 4, 4, 5, 6, 7, 8, 1, 1, 9, 10, 9, 13};
    int64_t listens[] = {100, 5, 3, 1, 1, 1, 10, 2, 50, 1, 1, 1, 1, 7};
    int32_t g[14];
    run_groups(names, per, artists, 14, listens, g);
    CHECK(g[0] == g[1] && g[0] == g[2]);
    CHECK(g[3] != g[4]);
    CHECK(g[4] == g[5]);
    CHECK(g[7] == g[8]);   /* joined to the most listened-to Love (artist 8) */
    CHECK(g[6] != g[8] && g[13] != g[8] && g[6] != g[13]);
    CHECK(g[9] != g[10]);
    CHECK(g[11] == g[12]);
    /* dense ids in order of first track */
    CHECK_INT(g[0], 0);
    CHECK_INT(g[3], 1);
    CHECK_INT(g[4], 2);
}

TEST(group_score_hand_computed)
{
    /* truth: {0,1,2} {3,4} {5}; pred: {0,1} {2,3,4} {5}
     * TP pairs: (0,1) (3,4) = 2; pred pairs 1 + 3 = 4; truth pairs 3 + 1 = 4 */
    int32_t pred[] = {7, 7, 9, 9, 9, 1};
    int64_t truth[] = {100, 100, 100, 5, 5, 42};
    double p, r;
    int64_t tp, pp, tq;
    CHECK_OK(mr_group_score(6, pred, truth, &p, &r, &tp, &pp, &tq));
    CHECK_INT(tp, 2);
    CHECK_INT(pp, 4);
    CHECK_INT(tq, 4);
    CHECK_NEAR(p, 0.5, 1e-12);
    CHECK_NEAR(r, 0.5, 1e-12);
    /* all singletons: no pairs at all scores 1, 1 */
    int32_t s[] = {0, 1, 2};
    int64_t t[] = {0, 1, 2};
    CHECK_OK(mr_group_score(3, s, t, &p, &r, NULL, NULL, NULL));
    CHECK_NEAR(p, 1, 0);
    CHECK_NEAR(r, 1, 0);
}

/* The generic-title rules: an artist's "Intro"s on several albums are
 * different songs, its "Intro (Live)" joins the most played one; a
 * distinctive title by one artist twice is a re-release; a version without
 * artists joins a distinctive title's original. */
TEST(track_groups_generic_titles)
{
    const char *names[] = {
        "Intro",                       /* 0 artist 1 */
        "Intro",                       /* 1 artist 1, most played */
        "Intro (Live)",                /* 2 artist 1 */
        "Intro",                       /* 3 artist 2 */
        "Intro",                       /* 4 artist 3 */
        "Crimson Lighthouse Blues",    /* 5 artist 4 */
        "Crimson Lighthouse Blues",    /* 6 artist 4: re-release */
        "Crimson Lighthouse Blues (Sped Up)", /* 7 no artist */
    };
    int64_t per[] = {1, 1, 1, 1, 1, 1, 1, 0};
    int64_t artists[] = {1, 1, 1, 2, 3, 4, 4};
    int64_t listens[] = {5, 50, 1, 9, 9, 10, 3, 1};
    int32_t g[8];
    run_groups(names, per, artists, 8, listens, g);
    CHECK(g[0] != g[1]);
    CHECK(g[2] == g[1]);
    CHECK(g[3] != g[1] && g[4] != g[1] && g[3] != g[4]);
    CHECK(g[5] == g[6]);
    CHECK(g[7] == g[5]);
}

/* A track marked as a cover of a title several performers carry joins the
 * most played one only when that one dominates (played more than
 * MR_GROUP_COVER_DOMINANCE times any other performer's); without play
 * counts only a title with a single performer takes marked covers. */
TEST(track_groups_cover_dominance)
{
    const char *names[] = {
        "Stay",           /* 0 artist 1 */
        "Stay",           /* 1 artist 2 */
        "Stay",           /* 2 artist 3 */
        "Stay (Cover)",   /* 3 artist 4 */
        "Hello",          /* 4 artist 5 */
        "Hello",          /* 5 artist 6 */
        "Hello",          /* 6 artist 7 */
        "Hello - Cover",  /* 7 artist 8 */
        "Rain (кавер)",   /* 8 artist 9 */
        "Rain",           /* 9 artist 10: the only performer of the title */
    };
    int64_t per[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    int64_t artists[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    /* Stay: 40 vs 30, no dominant original; Hello: 90 > 2 x 40 */
    int64_t listens[] = {40, 30, 5, 1, 90, 40, 3, 1, 1, 2};
    int32_t g[10];
    run_groups(names, per, artists, 10, listens, g);
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++) CHECK(g[i] != g[j]);
    CHECK(g[7] == g[4]);
    CHECK(g[5] != g[4] && g[6] != g[4] && g[5] != g[6]);
    CHECK(g[8] == g[9]);
    /* exactly at the ratio is not more than it */
    int64_t tie[] = {40, 20, 5, 1, 90, 45, 3, 1, 1, 2};
    run_groups(names, per, artists, 10, tie, g);
    CHECK(g[3] != g[0]);
    CHECK(g[7] != g[4]);
    /* no play counts: the single performer's Rain still takes its cover */
    run_groups(names, per, artists, 10, NULL, g);
    CHECK(g[3] != g[0] && g[3] != g[1] && g[3] != g[2]);
    CHECK(g[7] != g[4] && g[7] != g[5] && g[7] != g[6]);
    CHECK(g[8] == g[9]);
}
