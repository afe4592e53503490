/* Word lists for the synthetic catalog (private to gen.c).
 *
 * Genre tokens are ordered by popularity (Zipf weights follow the order):
 * the first few are the real top genres of the data set. Titles are built
 * from English and Russian words; the "common titles" are the ones many
 * unrelated songs share in real catalogs ("Intro", "Love", "Мама"). */
#ifndef MR_GEN_WORDS_H
#define MR_GEN_WORDS_H

static const char *const GENRES[] = {
    "pop", "rusrap", "allrock", "ruspop", "rap", "electronics", "dance", "rock", "indie", "metal",
    "alternative", "foreignrap", "rusrock", "house", "soundtrack", "rnb", "techno", "jazz", "classical",
    "folk", "hardrock", "numetal", "punk", "postpunk", "rusestrada", "estrada", "chanson", "kpop",
    "phonk", "trap", "lounge", "ambient", "dubstep", "dnb", "trance", "edm", "hiphop", "lofi",
    "synthwave", "newwave", "disco", "funk", "soul", "blues", "country", "reggae", "ska", "latin",
    "reggaeton", "bossanova", "world", "ethnic", "folkrock", "folkmetal", "blackmetal", "deathmetal",
    "doommetal", "thrashmetal", "heavymetal", "progmetal", "metalcore", "posthardcore", "hardcore",
    "emo", "grunge", "shoegaze", "dreampop", "postrock", "mathrock", "stonerrock", "psychedelic",
    "progressive", "artrock", "garage", "britpop", "poprock", "softrock", "industrial", "gothic",
    "darkwave", "ebm", "idm", "experimental", "noise", "minimal", "deephouse", "techhouse",
    "progressivehouse", "electrohouse", "bigroom", "futurebass", "hardstyle", "breakbeat", "triphop",
    "chillout", "downtempo", "newage", "meditation", "relax", "children", "fairytales", "audiobooks",
    "comedy", "musical", "films", "tvseries", "videogame", "anime", "animated",
    "modernclassical", "opera", "baroque", "romanticism", "chamber", "orchestral", "piano", "guitar",
    "acoustic", "singersongwriter", "bard", "romances", "military", "rusfolk", "ukrfolk", "caucasian",
    "eastern", "arabic", "turkish", "indian", "african", "celtic", "balkan", "klezmer", "tango",
    "flamenco", "salsa", "samba", "afrobeat", "dancehall", "dub", "ragga", "grime", "drill", "cloudrap",
    "emorap", "conscious", "oldschool", "undergroundrap", "gangsta", "horrorcore", "ruschanson",
    "sovietpop", "vocal", "jazzvocal", "smoothjazz", "bebop", "fusion", "bigband", "swing", "gospel",
    "spiritual", "holiday", "newyear", "sleep", "nature", "jpop",
};

/* Genres whose artists mostly sing in Russian. */
static const char *const RUS_GENRES[] = {
    "rusrap", "ruspop", "rusrock", "rusestrada", "estrada", "chanson", "bard", "romances", "military",
    "rusfolk", "ruschanson", "sovietpop", "fairytales", "audiobooks",
};

static const char *const EN_WORDS[] = {
    "love", "night", "heart", "fire", "dream", "light", "time", "rain", "summer", "city", "girl",
    "boy", "baby", "world", "life", "soul", "sky", "star", "moon", "sun", "road", "home", "money",
    "party", "dance", "kiss", "blood", "gold", "shadow", "ocean", "river", "angel", "devil", "ghost",
    "wild", "young", "free", "lost", "broken", "crazy", "sweet", "bad", "dark", "blue", "red", "black",
    "white", "golden", "silver", "electric", "midnight", "tonight", "forever", "never", "always",
    "again", "alone", "together", "tomorrow", "yesterday", "paradise", "heaven", "hell", "storm",
    "thunder", "wind", "snow", "winter", "spring", "autumn", "morning", "evening", "highway", "street",
    "bridge", "window", "mirror", "memory", "story", "secret", "promise", "lie", "truth", "reason",
    "feeling", "fever", "magic", "power", "glory", "freedom", "hope", "fear", "pain", "tears", "smile",
    "eyes", "hands", "lips", "voice", "song", "melody", "rhythm", "beat", "bass", "echo", "signal",
    "radio", "machine", "robot", "future", "past", "zero", "hero", "king", "queen", "prince", "empire",
    "kingdom", "castle", "garden", "desert", "island", "mountain", "valley", "forest", "jungle",
    "planet", "galaxy", "rocket", "satellite", "neon", "velvet", "diamond", "crystal", "stone", "glass",
    "paper", "wolf", "tiger", "lion", "eagle", "butterfly", "rose", "flower", "cherry", "lemon",
    "honey", "sugar", "candy", "coffee", "wine", "whiskey", "cigarette", "holiday", "weekend",
    "monday", "sunday", "december", "july", "california", "tokyo", "paris", "london", "moscow",
    "berlin", "brooklyn", "hollywood", "vegas", "miami", "runaway", "outlaw", "stranger", "lover",
    "friend", "enemy", "soldier", "rebel", "dancer", "dreamer", "believer", "sinner", "saint",
    "wonder", "miracle", "chance", "control", "danger", "trouble", "circle", "line", "edge", "end",
    "beginning", "horizon", "gravity", "motion", "fall", "rise", "run", "fly", "burn", "shine",
    "breathe", "wait", "stay", "go", "hold", "touch", "feel", "move", "shake", "jump", "drive", "ride",
    "slow", "fast", "high", "low", "deep", "loud", "quiet", "cold", "hot", "warm", "lonely", "happy",
    "sad", "perfect", "beautiful", "dangerous", "famous", "invisible", "endless", "hollow", "savage",
    "pretty", "ugly", "little", "big", "last", "first", "only", "new", "old", "real", "fake", "strange",
    "wasted", "faded", "stoned", "golden", "hungry", "restless", "reckless", "fearless", "careless",
};

static const char *const RU_WORDS[] = {
    "любовь", "ночь", "сердце", "огонь", "мечта", "свет", "время", "дождь", "лето", "город", "девочка",
    "мальчик", "мир", "жизнь", "душа", "небо", "звезда", "луна", "солнце", "дорога", "дом", "деньги",
    "танцы", "поцелуй", "кровь", "золото", "тень", "море", "река", "ангел", "демон", "призрак",
    "дикий", "молодой", "свободный", "потерянный", "разбитый", "сладкий", "тёмный", "синий",
    "красный", "чёрный", "белый", "полночь", "навсегда", "никогда", "всегда", "снова", "один",
    "вместе", "завтра", "вчера", "рай", "ад", "гроза", "гром", "ветер", "снег", "зима", "весна",
    "осень", "утро", "вечер", "улица", "мост", "окно", "зеркало", "память", "история", "тайна",
    "обещание", "ложь", "правда", "причина", "чувства", "магия", "сила", "свобода", "надежда",
    "страх", "боль", "слёзы", "улыбка", "глаза", "руки", "губы", "голос", "песня", "мелодия", "ритм",
    "бит", "эхо", "сигнал", "радио", "будущее", "прошлое", "ноль", "герой", "король", "королева",
    "сад", "остров", "горы", "лес", "планета", "ракета", "неон", "бархат", "алмаз", "камень",
    "стекло", "бумага", "волк", "тигр", "лев", "орёл", "бабочка", "роза", "цветы", "вишня", "мёд",
    "сахар", "кофе", "вино", "сигареты", "выходные", "понедельник", "декабрь", "июль", "москва",
    "питер", "париж", "беглец", "незнакомец", "друг", "враг", "солдат", "бунтарь", "танцор",
    "мечтатель", "грешник", "святой", "чудо", "шанс", "контроль", "опасность", "круг", "линия",
    "край", "конец", "начало", "горизонт", "падение", "полёт", "бег", "гори", "дыши", "жди",
    "останься", "уходи", "держи", "танцуй", "лети", "медленно", "быстро", "высоко", "глубоко",
    "громко", "тихо", "холодно", "жарко", "тепло", "одиноко", "счастье", "грусть", "красивая",
    "опасная", "последний", "первый", "новый", "старый", "настоящий", "странный", "пьяный",
    "голодный", "малыш", "мама", "папа", "брат", "сестра", "подруга", "район", "двор", "подъезд",
    "кухня", "балкон", "крыша", "трамвай", "метро", "поезд", "вокзал", "аэропорт", "такси",
};

/* Titles many unrelated songs share. The first block are album fillers
 * that one artist may use on several albums ("Intro" on every record). */
static const char *const FILLER_TITLES[] = {"Intro", "Outro", "Interlude", "Skit", "Prologue",
                                             "Epilogue", "Интро", "Аутро", "Пролог"};
static const char *const COMMON_TITLES[] = {
    "Love", "Home", "Forever", "Alone", "Fire", "Paradise", "Stay", "Dreams", "Heaven", "Run",
    "Believer", "Hello", "Goodbye", "Sorry", "Angel", "Summer", "Tonight", "Crazy", "Faded", "Free",
    "Hurt", "Lonely", "Numb", "Falling", "Closer", "Gravity", "Memories", "Mama", "Baby", "Sunrise",
    "Sunset", "Midnight", "Rain", "Wildfire", "Ghost", "Magic", "Legend", "Dance", "Silence", "Breathe",
    "Home Again", "Let It Go", "Take Me Home", "Nothing Else", "Hold On", "Wake Up", "Never Again",
    "Любовь", "Мама", "Зима", "Весна", "Лето", "Осень", "Домой", "Небо", "Ночь", "Танцы", "Малыш",
    "Звезда", "Улетай", "Прости", "Привет", "Навсегда", "Дождь", "Река", "Море", "Город", "Сердце",
    "Я люблю тебя", "Не уходи", "Ты моя", "Без тебя", "Всё хорошо", "Новый год", "Колыбельная",
};

/* How covers that say so are titled (appended to the original title). */
static const char *const COVER_MARKS[] = {" (Cover)", " (cover)", " - Cover", " (Acoustic Cover)", " (Piano Cover)",
                                          " (Rock Cover)", " (Cover Version)", " (кавер)", " (Кавер)"};

static const char *const EN_FIRST[] = {
    "Alex", "Max", "Sam", "Chris", "Jordan", "Taylor", "Billie", "Lana", "Ariana", "Ed", "Harry", "Dua",
    "Justin", "Selena", "Miley", "Katy", "Bruno", "Shawn", "Sia", "Lewis", "Calvin", "Martin", "David",
    "Kyle", "Tyler", "Travis", "Kanye", "Drake", "Post", "Mac", "Frank", "Kendrick", "Jack", "Jon",
    "Amy", "Adele", "Nina", "Norah", "Ella", "Louis", "Miles", "John", "Paul", "George", "Ringo",
    "Kurt", "Dave", "Chester", "Mike", "Freddie", "Elton", "Stevie", "Whitney", "Mariah", "Celine",
    "Lucas", "Noah", "Liam", "Emma", "Olivia", "Ava", "Mia", "Zoe", "Leo", "Oscar", "Felix", "Ruby",
};
static const char *const EN_LAST[] = {
    "Smith", "Johnson", "Brown", "Taylor", "Miller", "Wilson", "Moore", "Clark", "Lewis", "Walker",
    "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell",
    "Mitchell", "Roberts", "Carter", "Phillips", "Evans", "Turner", "Torres", "Parker", "Collins",
    "Edwards", "Stewart", "Morris", "Murphy", "Cook", "Rogers", "Morgan", "Cooper", "Peterson",
    "Reed", "Bailey", "Bell", "Gomez", "Kelly", "Howard", "Ward", "Cox", "Diaz", "Richardson", "Wood",
    "Watson", "Brooks", "Bennett", "Gray", "James", "Reyes", "Cruz", "Hughes", "Price", "Myers",
    "Long", "Foster", "Sanders", "Ross", "Morales", "Powell", "Sullivan", "Russell", "Ortiz", "Jenkins",
};
static const char *const RU_FIRST[] = {
    "Алексей", "Андрей", "Сергей", "Дмитрий", "Иван", "Максим", "Егор", "Артём", "Никита", "Павел",
    "Михаил", "Владимир", "Григорий", "Филипп", "Валерий", "Виктор", "Олег", "Юрий", "Денис", "Антон",
    "Анна", "Мария", "Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Светлана", "Алла", "Кристина",
    "Полина", "Вера", "Земфира", "Лолита", "Валерия", "Дарья", "Ксения", "Алиса", "София", "Ева",
};
static const char *const RU_LAST[] = {
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков",
    "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов", "Козлов",
    "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев", "Соловьёв",
    "Борисов", "Яковлев", "Григорьев", "Романов", "Воробьёв", "Сергеев", "Кузьмин", "Фролов",
    "Александров", "Дмитриев", "Королёв", "Гусев", "Киселёв", "Ильин", "Максимов", "Поляков",
};
static const char *const NICK_PREFIX[] = {"DJ", "MC", "Lil", "Big", "Young", "King", "Saint", "Mr.", "Miss", "Dr."};
static const char *const PLACES[] = {"Wembley", "Madison Square Garden", "Red Rocks", "the BBC",
                                      "Olympic", "Лужники", "Glastonbury", "Montreux", "Royal Albert Hall"};

/* Syllables for invented artist names (most real artist names are unique). */
static const char *const SYL_EN[] = {"ka", "ro", "mi", "ne", "lo", "ta", "vi", "za", "re", "so", "di", "an",
                                     "el", "or", "us", "ix", "ly", "ra", "ven", "tor", "mar", "lin", "dex",
                                     "no", "zen", "kor", "sha", "bel", "dor", "fin", "gu", "pe"};
static const char *const SYL_RU[] = {"ка", "ро", "ми", "не", "ло", "та", "ви", "за", "ре", "со", "ди", "ан",
                                     "ел", "ор", "ус", "ля", "ра", "вен", "тор", "мар", "лин", "дей", "но",
                                     "зен", "кор", "ша", "бел", "дор", "фин", "гу", "пе", "жа"};

#endif
