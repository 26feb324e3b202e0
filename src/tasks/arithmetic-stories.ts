// The STORY table of the arithmetic task (src/tasks/arithmetic.ts holds the STRUCTURES and the
// generator; its header explains structure vs story and the split rules).
//
// A story is one surface wording of one structure: word slots (names, objects, units) and 2–3
// question phrasings with different sentence orders. Every story must
//   - write each number slot of its structure's steps ({a}, {b}, ...) in every phrasing, with digits
//     only from those slots (no "a dozen", "twice", "half"; the first number written decides the
//     number split, so phrasings may start with different numbers);
//   - fill the structure's line slots ({u}, {p}, {g}, {t}, {x}, {y}, {v}) with words that make its
//     reasoning lines read sensibly ("For each {p}: a/b = c {u}.");
//   - keep questions ≤ 40 words; money is written "$" before the number ("${b}").
// Stories with `held: true` appear ONLY in the held-out split. A train story must not reuse the
// setting of its structure's held-out story, and no train phrasing may share a run of 5 words
// (slots as placeholders) with any held-out phrasing (arithmetic.test.ts checks the latter).

/** Inclusive number ranges by slot name. */
export type Ranges = Readonly<Record<string, readonly [number, number]>>;

/** A story: wording of one structure. Word slots pick from lists (two slots with one list differ). */
export interface Story {
  id: string;
  st: string;
  /** Held-out-only (split rule 1). */
  held?: boolean;
  r?: Ranges;
  w: Readonly<Record<string, string | readonly string[]>>;
  /** Question phrasings (different sentence orders and questions); one is picked per item. */
  q: readonly string[];
}
// ---- word lists (short, everyday words keep questions under ~40 words; no digits in them) ----
// A list used after "a" starts with a consonant sound in every entry (no "a oak").
const NAMES = ['Mia', 'Leo', 'Ava', 'Noah', 'Zoe', 'Omar', 'Lina', 'Ravi', 'Emma', 'Sam', 'Nora', 'Ben',
  'Iris', 'Kai', 'Maya', 'Theo', 'Aria', 'Finn', 'Lucy', 'Jack', 'Hana', 'Ivan', 'Rosa', 'Eli'];
const OBJECTS = ['pens', 'apples', 'stickers', 'marbles', 'books', 'cards', 'shells', 'eggs', 'beads',
  'stamps', 'crayons', 'buttons', 'coins', 'pencils', 'plums'];
const SHOP_ITEMS = ['notebooks', 'mugs', 'candles', 'plants', 'sandwiches', 'toy cars', 'socks', 'kites'];
const VEHICLES = ['car', 'bus', 'train', 'truck', 'boat', 'cyclist'];
const PLANTS = ['tomato plants', 'roses', 'tulips', 'carrots', 'sunflowers'];
const GIFTS = ['game', 'book', 'jacket', 'watch', 'lamp', 'scarf'];
const FRUITS = ['apples', 'pears', 'oranges', 'lemons', 'peaches', 'mangoes'];
const BAKED = ['muffins', 'rolls', 'buns', 'cupcakes', 'bagels'];
const TOYS = ['toy cars', 'dolls', 'yo-yos', 'puzzles', 'robots'];
const TREES = ['oak', 'pine', 'maple', 'birch', 'elm'];
const BUILDINGS = ['school', 'church', 'bridge', 'tower', 'museum', 'library'];
const INSTRUMENTS = ['piano', 'violin', 'guitar', 'flute', 'drums'];
const MAIL = ['letters', 'postcards', 'parcels'];
const PANTRY = ['rice', 'flour', 'sugar', 'oats'];
const ZOO_FOOD = ['bananas', 'carrots', 'apples'];
const BANDS = ['band', 'choir', 'school band'];
// Lists shared by two slots of one story (x and y): one list object, so the two picks differ.
const ZOO_ANIMALS = ['monkeys', 'zebras', 'deer'];
const CLOTHES = ['shirts', 'coats', 'dresses'];
const PETS = ['dog', 'cat', 'rabbit'];

export const STORIES: readonly Story[] = [
  // ---- mul: a*b ----
  { id: 'packs', st: 'mul', w: { N: NAMES, u: OBJECTS }, q: [
    '{N} buys {a} packs of {u}. Each pack has {b} {u} inside. How many {u} does {N} buy?',
    'There are {a} boxes with {b} {u} in each box. How many {u} do they hold in all?',
    '{N} has {a} bags with {b} {u} in each bag. How many {u} does {N} have altogether?'] },
  { id: 'hall', st: 'mul', w: { u: ['chairs', 'seats', 'benches'], pl: ['hall', 'theater', 'classroom'] }, q: [
    'A {pl} has {a} rows with {b} {u} in each row. How many {u} does the {pl} have?',
    'There are {b} {u} in each row of a {pl}, and there are {a} rows. Altogether, how many {u} does the {pl} have?'] },
  { id: 'trays', st: 'mul', held: true, w: { u: BAKED }, q: [
    'A baker fills {a} trays with {b} {u} on each tray. How many {u} are there in total?',
    'Each tray holds {b} {u}. A baker fills {a} trays. What is the total number of {u}?'] },
  { id: 'mail', st: 'mul', w: { u: MAIL }, q: [
    'A mail carrier visits {a} streets and drops off {b} {u} on every street. How many {u} does the carrier deliver?',
    'How many {u} does a mail carrier deliver if she brings {b} {u} to each of {a} streets?',
    'On each of {a} streets, a mail carrier delivers {b} {u}. Altogether, how many {u} does she deliver?'] },
  { id: 'penguins', st: 'mul', w: { an: ['penguins', 'seals', 'otters'], u: 'fish' }, q: [
    'A zoo has {a} {an}. Each one eats {b} fish a day. How many fish do the {an} eat in one day?',
    'Each of the {a} {an} at a zoo eats {b} fish a day. How many fish does the zoo need per day?',
    'How many fish does a keeper feed to {a} {an} in a day if every one of them gets {b} fish?'] },
  { id: 'concert', st: 'mul', r: { a: [2, 15], b: [3, 9] }, w: { band: BANDS, u: 'minutes' }, q: [
    'A {band} plays {a} songs, and every song lasts {b} minutes. How many minutes of music does the {band} play?',
    'How many minutes long is a concert of {a} songs if each song takes {b} minutes?',
    'Each song at the {band} concert is {b} minutes long. There are {a} songs. How many minutes does the concert last?'] },
  { id: 'tents', st: 'mul', r: { a: [4, 40], b: [3, 8] }, w: { u: 'campers' }, q: [
    'A camp sets up {a} tents. Each tent sleeps {b} campers. How many campers can sleep at the camp?',
    'How many campers fit in {a} tents when every tent holds {b} campers?',
    '{b} campers sleep in each tent, and the scouts put up {a} tents. How many campers can the tents hold?'] },
  { id: 'tubes', st: 'mul', r: { a: [2, 30], b: [3, 6] }, w: { N: NAMES, u: ['tennis balls', 'ping-pong balls'] }, q: [
    'A sports club orders {a} tubes of {u}, with {b} {u} in every tube. How many {u} does the club get?',
    'How many {u} come in {a} tubes if one tube holds {b} {u}?',
    '{N} packs {b} {u} into each tube and fills {a} tubes. How many {u} has {N} packed?'] },
  { id: 'necklaces', st: 'mul', r: { a: [2, 15], b: [5, 24] }, w: { N: NAMES, u: ['beads', 'pearls', 'shells'] }, q: [
    '{N} makes {a} necklaces and threads {b} {u} on each one. How many {u} does {N} use?',
    'Each necklace that {N} makes has {b} {u} on it. How many {u} are needed for {a} necklaces?',
    'To make {a} bracelets with {b} {u} apiece, how many {u} does {N} need?'] },

  // ---- rate_time: rate a per unit of time, for b units ----
  { id: 'speed', st: 'rate_time', w: { v: VEHICLES, u: 'km', t: 'hours' }, q: [
    'A {v} travels {a} km every hour. How many km does it travel in {b} hours?',
    'A {v} goes {a} km per hour. How many km does it go in {b} hours?'] },
  { id: 'pump', st: 'rate_time', w: { m: ['pump', 'hose', 'tap'], u: 'liters', t: 'minutes' }, q: [
    'A {m} gives {a} liters of water each minute. How many liters does it give in {b} minutes?',
    'How many liters does a {m} fill in {b} minutes if it fills {a} liters per minute?'] },
  { id: 'typing', st: 'rate_time', w: { N: NAMES, u: 'words', t: 'minutes' }, q: [
    '{N} types {a} words per minute. How many words does {N} type in {b} minutes?',
    'In {b} minutes, how many words can {N} type at {a} words a minute?'] },
  { id: 'machine', st: 'rate_time', held: true, w: { u: TOYS, t: 'hours' }, q: [
    'A machine makes {a} {u} every hour. How many {u} does it make in {b} hours?',
    'A factory machine runs for {b} hours and makes {a} {u} per hour. How many {u} does it make?'] },
  { id: 'heart', st: 'rate_time', r: { a: [55, 95], b: [2, 15] }, w: { N: NAMES, u: 'beats', t: 'minutes' }, q: [
    "{N}'s heart beats {a} times a minute. How many beats is that in {b} minutes?",
    "How many times does {N}'s heart beat in {b} minutes if it beats {a} times each minute?",
    'In {b} minutes, how many times does a heart beat at {a} beats per minute?'] },
  { id: 'walk', st: 'rate_time', r: { a: [50, 95], b: [2, 15] }, w: { N: NAMES, u: 'meters', t: 'minutes' }, q: [
    '{N} walks {a} meters every minute on the way to school. How many meters does {N} walk in {b} minutes?',
    'How far, in meters, does {N} walk in {b} minutes at {a} meters a minute?',
    'For {b} minutes {N} walks to the park, covering {a} meters each minute. How many meters is that?'] },
  { id: 'sorting', st: 'rate_time', r: { a: [20, 95], b: [2, 8] }, w: { N: NAMES, u: MAIL, t: 'hours' }, q: [
    'At the post office, {N} sorts {a} {u} an hour. How many {u} can {N} sort in {b} hours?',
    'How many {u} does a post office clerk stamp in {b} hours if the clerk stamps {a} {u} each hour?',
    'A post office clerk works for {b} hours and sorts {a} {u} in each hour. What number of {u} does the clerk sort?'] },
  { id: 'allowance', st: 'rate_time', r: { a: [12, 40], b: [2, 15] }, w: { N: NAMES, u: 'dollars', t: 'weeks' }, q: [
    '{N} gets ${a} of pocket money every week. How much pocket money does {N} get in {b} weeks?',
    'How many dollars does {N} collect in {b} weeks if {N} gets ${a} a week for chores?',
    'For {b} weeks, {N} is paid ${a} each week for walking a dog. How many dollars is that in all?'] },
  { id: 'peeling', st: 'rate_time', r: { a: [12, 60], b: [2, 6] }, w: { cook: ['cook', 'chef'], u: ['potatoes', 'carrots', 'apples'], t: 'hours' }, q: [
    'A {cook} peels {a} {u} an hour. How many {u} can the {cook} peel in {b} hours?',
    'How many {u} get peeled in {b} hours by a {cook} who peels {a} {u} per hour?',
    'In a busy kitchen, a {cook} works {b} hours, peeling {a} {u} each hour. Altogether, how many {u} does the {cook} peel?'] },
  { id: 'drinking', st: 'rate_time', r: { a: [20, 95], b: [2, 15] }, w: { an: ['elephant', 'camel', 'giraffe'], u: 'liters', t: 'days' }, q: [
    'A zoo {an} drinks {a} liters of water a day. How many liters does it drink in {b} days?',
    'How many liters of water does a zoo {an} need for {b} days if it drinks {a} liters daily?',
    'Over {b} days, the keeper gives the {an} {a} liters of water each day. How many liters is that?'] },

  // ---- div: a/b ----
  { id: 'share', st: 'div', w: { N: NAMES, u: OBJECTS, p: 'friend' }, q: [
    '{N} has {a} {u} and shares them equally among {b} friends. How many {u} does each friend get?',
    '{a} {u} are split equally between {b} friends. How many {u} does each friend get?'] },
  { id: 'trip', st: 'div', r: { b: [2, 9], q: [15, 120] }, w: { v: VEHICLES, u: 'km', p: 'hour' }, q: [
    'A {v} travels {a} km in {b} hours at a steady speed. How many km does it travel each hour?',
    'In {b} hours a {v} covers {a} km at a steady speed. How many km is that per hour?'] },
  { id: 'ribbon', st: 'div', w: { N: NAMES, m: ['ribbon', 'rope', 'string'], u: 'cm', p: 'piece' }, q: [
    'A {m} is {a} cm long. {N} cuts it into {b} equal pieces. How long is each piece, in cm?',
    '{N} cuts a {a} cm {m} into {b} equal pieces. How many cm long is each piece?'] },
  { id: 'teams', st: 'div', held: true, w: { u: ['players', 'children', 'runners'], p: 'team' }, q: [
    '{a} {u} are split into {b} equal teams. How many {u} are on each team?',
    'A coach puts {a} {u} into {b} teams of equal size. How many {u} are in each team?'] },
  { id: 'shelves', st: 'div', w: { N: NAMES, u: 'books', p: 'shelf' }, q: [
    '{N} puts {a} books on {b} shelves, the same number on every shelf. How many books go on each shelf?',
    'How many books are on each shelf if {a} books fill {b} shelves equally?',
    'There are {b} shelves in a classroom, and {N} spreads {a} books evenly across them. How many books does each shelf get?'] },
  { id: 'fare', st: 'div', r: { b: [2, 9], q: [3, 40] }, w: { N: NAMES, u: 'dollars', p: 'ticket' }, q: [
    '{N} pays ${a} for {b} train tickets that all cost the same. What is the price of each ticket, in dollars?',
    'How much does one train ticket cost if {b} of them cost ${a}?',
    '{b} bus tickets cost ${a} in all. How many dollars does a single ticket cost?'] },
  { id: 'juice', st: 'div', r: { b: [2, 9], q: [50, 300] }, w: { N: NAMES, d: ['juice', 'milk', 'lemonade'], u: 'ml', p: 'glass' }, q: [
    '{N} pours {a} ml of {d} equally into {b} glasses. How many ml does each glass get?',
    'A jug holds {a} ml of {d}. If it is shared evenly among {b} glasses, how many ml go into each glass?',
    'How many ml of {d} end up in each of {b} glasses when {N} pours out {a} ml evenly?'] },
  { id: 'practice', st: 'div', r: { b: [2, 9], q: [10, 60] }, w: { N: NAMES, i: INSTRUMENTS, u: 'minutes', p: 'day' }, q: [
    '{N} practices the {i} for {a} minutes over {b} days, the same time each day. How many minutes does {N} practice per day?',
    'Over {b} days, {N} plays the {i} for {a} minutes in all, the same amount every day. How many minutes a day is that?'] },
  { id: 'seals', st: 'div', w: { an: ['seals', 'penguins', 'otters', 'bears'], u: 'kg', p: 'animal' }, q: [
    'A zookeeper shares {a} kg of fish equally among {b} {an}. How many kg of fish does each animal get?',
    'At the zoo, {b} {an} get {a} kg of fish in total, split evenly. How many kg does each animal eat?'] },
  { id: 'pots', st: 'div', r: { b: [2, 9], q: [2, 12] }, w: { N: NAMES, u: 'seeds', p: 'pot' }, q: [
    '{N} sows {a} seeds in {b} flower pots, with the same number in every pot. How many seeds go in each pot?',
    'How many seeds does each pot get when {N} spreads {a} seeds evenly over {b} pots?'] },

  // ---- add_sub: a+b, then −c ----
  { id: 'give', st: 'add_sub', w: { N: NAMES, M: NAMES, u: OBJECTS }, q: [
    '{N} has {a} {u}. {N} finds {b} more, then gives {c} to {M} as a gift. How many {u} does {N} have now?',
    '{N} had {a} {u}, found {b} more and gave {c} of them to {M} at school. How many {u} does {N} have left?'] },
  { id: 'bus', st: 'add_sub', w: { u: 'people' }, q: [
    'A bus has {a} people on it. At the next stop {b} people get on and {c} get off. How many people are on the bus now?',
    'At a stop, {b} people get on a bus that had {a} people, then {c} get off. How many people are on the bus?'] },
  { id: 'shelf', st: 'add_sub', w: { u: 'books' }, q: [
    'A library shelf has {a} books. Readers return {b} books and borrow {c} books. How many books are on the shelf now?',
    'Readers return {b} books to a shelf that holds {a} books, then borrow {c}. How many books are on the shelf?'] },
  { id: 'temperature', st: 'add_sub', held: true, r: { a: [1, 30], b: [2, 20] }, w: { u: 'degrees' }, q: [
    'In the morning it is {a} degrees. By noon it is {b} degrees warmer, and by night it is {c} degrees cooler than at noon. What is the temperature at night?',
    'It is {a} degrees in the morning. It gets {b} degrees warmer by noon, then {c} degrees cooler by night. How many degrees is it at night?'] },
  { id: 'piggy', st: 'add_sub', w: { N: NAMES, g: GIFTS, u: 'dollars' }, q: [
    '{N} has ${a} in a piggy bank. {N} gets ${b} as a gift and then spends ${c} on a {g}. How much money is in the piggy bank now?',
    'After getting ${b} from a grandparent, {N} adds it to the ${a} already saved, then pays ${c} for a {g}. How many dollars does {N} have left?',
    "How many dollars are left in {N}'s piggy bank if it held ${a}, {N} put in ${b} more and then took out ${c}?"] },
  { id: 'parking', st: 'add_sub', w: { u: 'cars', pl: ['parking lot', 'garage'] }, q: [
    'A {pl} has {a} cars in the morning. By lunch {b} more cars drive in, and then {c} cars drive out. How many cars are in the {pl} now?',
    'How many cars are parked in a {pl} that starts with {a} cars, gets {b} more and then sees {c} drive away?'] },
  { id: 'pond', st: 'add_sub', w: { u: ['ducks', 'geese', 'swans'] }, q: [
    'There are {a} {u} on a pond. Then {b} more {u} land on it, and later {c} {u} fly away. How many {u} can be seen on the pond now?',
    '{b} {u} fly down to join {a} {u} on a pond, and then {c} {u} fly off. How many {u} stay on the pond?'] },
  { id: 'fridge', st: 'add_sub', r: { a: [6, 30], b: [6, 24] }, w: { N: NAMES, u: 'eggs' }, q: [
    "{N}'s fridge holds {a} eggs. {N} buys {b} more eggs and then cooks {c} eggs for breakfast. How many eggs are in the fridge now?",
    'How many eggs are left in the fridge if it had {a}, {N} added {b} from the shop and used {c} for a cake?'] },
  { id: 'playlist', st: 'add_sub', w: { N: NAMES, u: 'songs' }, q: [
    "{N}'s playlist has {a} songs. {N} adds {b} new songs and deletes {c} old ones. How many songs are on the playlist now?",
    '{N} deletes {c} songs from a playlist after adding {b} songs to the {a} it already had. How many songs does the playlist have now?'] },
  { id: 'campsite', st: 'add_sub', w: { u: 'campers' }, q: [
    'A campsite has {a} campers. In the evening {b} more campers arrive, and the next morning {c} campers go home. How many campers are at the campsite then?',
    'At a campsite, {b} campers join the {a} who are already there. Later {c} campers pack up and leave. How many campers are still at the campsite?'] },

  // ---- mul_sub: a*b, then −c ----
  { id: 'savings', st: 'mul_sub', r: { a: [3, 25], b: [2, 12] }, w: { N: NAMES, g: GIFTS, u: 'dollars' }, q: [
    '{N} saves ${a} every week for {b} weeks, then spends ${c} on a {g}. How much money does {N} have left?',
    'For {b} weeks {N} saves ${a} each week. Then {N} buys a {g} for ${c}. How many dollars are left?'] },
  { id: 'garden', st: 'mul_sub', w: { u: PLANTS }, q: [
    'A garden has {a} rows of {b} {u}. Then {c} of the {u} die. How many {u} are still growing?',
    'Every row of a garden has {b} {u}, and there are {a} rows. If {c} {u} die, how many {u} are still growing?'] },
  { id: 'sheets', st: 'mul_sub', w: { N: NAMES, u: ['stickers', 'stamps', 'labels'] }, q: [
    '{N} has {a} sheets, and each sheet holds {b} {u}. {N} uses {c} {u} for cards. How many {u} remain?',
    '{N} uses {c} {u} from {a} sheets that hold {b} {u} each. How many {u} does {N} still have?'] },
  { id: 'bakery', st: 'mul_sub', held: true, w: { u: BAKED }, q: [
    'A bakery makes {a} batches of {b} {u} and sells {c} of them. How many {u} are left?',
    'A bakery bakes {b} {u} in each of {a} batches. It sells {c} {u}. How many {u} does it have left?'] },
  { id: 'handout', st: 'mul_sub', w: { u: ['pencils', 'erasers', 'rulers'] }, q: [
    'A teacher buys {a} boxes of {b} {u} and hands out {c} {u} to the class. How many {u} does the teacher still have?',
    'After handing out {c} {u} to the class, how many {u} remain from the {a} boxes of {b} {u} a teacher bought?',
    'There are {b} {u} in a box, and a teacher has {a} boxes. The class uses {c} of the {u}. How many {u} remain?'] },
  { id: 'balloons', st: 'mul_sub', r: { a: [2, 15], b: [5, 20] }, w: { N: NAMES, u: 'balloons' }, q: [
    'For a party, {N} buys {a} bags of balloons with {b} balloons in each bag. Then {c} balloons pop. How many balloons are still whole?',
    '{N} bought {a} bags of {b} balloons for a party, and {c} balloons burst. How many balloons did not burst?'] },
  { id: 'drinks', st: 'mul_sub', r: { a: [2, 15], b: [4, 12] }, w: { u: ['juice boxes', 'water bottles'] }, q: [
    'The coach brings {a} packs of {b} {u} to soccer practice. The players drink {c} {u} during the game. How many {u} remain unopened?',
    'How many {u} remain if a coach brings {a} packs with {b} {u} each and the players drink {c} {u}?'] },
  { id: 'rolls', st: 'mul_sub', r: { a: [2, 15], b: [10, 20] }, w: { u: 'stamps' }, q: [
    'A post office has {a} rolls with {b} stamps on each roll. By Friday it sells {c} stamps. How many stamps does the post office have left?',
    '{c} stamps are sold at a post office that had {a} rolls of {b} stamps. How many stamps remain?'] },
  { id: 'matches', st: 'mul_sub', r: { a: [2, 9], b: [20, 50] }, w: { u: 'matches' }, q: [
    'Campers pack {a} boxes of matches with {b} matches in each box. They use {c} matches to light fires. How many matches do they have left?',
    'How many matches are still unused if campers bring {a} boxes of {b} matches and strike {c} of them?'] },
  { id: 'buckets', st: 'mul_sub', w: { an: ['seals', 'penguins', 'sea lions'], u: 'fish' }, q: [
    'A zookeeper carries {a} buckets with {b} fish in each bucket. The {an} eat {c} fish. How many fish are left in the buckets?',
    'The {an} at a zoo eat {c} fish from {a} buckets that held {b} fish each. How many fish remain?'] },

  // ---- left_after: b*c used up, a − that is left ----
  { id: 'change', st: 'left_after', w: { N: NAMES, it: SHOP_ITEMS, u: 'dollars' }, q: [
    '{N} has ${a} and buys {b} {it} for ${c} each. How much money does {N} have left?',
    '{N} buys {b} {it} at ${c} each. {N} had ${a} before. How many dollars does {N} have now?'] },
  { id: 'reading', st: 'left_after', r: { b: [5, 30], c: [2, 9], e: [5, 150] }, w: { N: NAMES, u: 'pages' }, q: [
    'A book has {a} pages. {N} reads {b} pages a day for {c} days. How many pages are left?',
    '{N} reads {b} pages of a {a}-page book each day for {c} days. How many pages are left to read?'] },
  { id: 'tank', st: 'left_after', r: { b: [5, 40], c: [2, 9], e: [5, 200] }, w: { u: 'liters' }, q: [
    'A tank holds {a} liters of water. A farm uses {b} liters a day for {c} days. How many liters are left in the tank?',
    'A farm uses {b} liters of water a day for {c} days from a tank of {a} liters. How many liters are left?'] },
  { id: 'road', st: 'left_after', held: true, r: { b: [30, 90], c: [2, 6], e: [10, 300] }, w: { u: 'km' }, q: [
    'A road trip is {a} km long. A family drives {b} km each hour for {c} hours. How many km are still left?',
    'A family drives {b} km per hour for {c} hours on a {a} km trip. How many km of the trip are left?'] },
  { id: 'pantry', st: 'left_after', r: { b: [50, 300], c: [2, 9], e: [5, 500] }, w: { N: NAMES, f: PANTRY, u: 'grams' }, q: [
    'A jar holds {a} grams of {f}. {N} uses {b} grams a day for {c} days. How many grams of {f} remain in the jar?',
    '{N} cooks with {b} grams of {f} each day for {c} days, taking it from a {a}-gram bag. How many grams are still in the bag?',
    'How many grams of {f} are left in a {a}-gram bag after {N} uses {b} grams daily for {c} days?'] },
  { id: 'phone', st: 'left_after', r: { b: [5, 40], c: [2, 9], e: [5, 200] }, w: { N: NAMES, u: 'minutes' }, q: [
    "{N}'s phone plan gives {a} minutes of calls a month. {N} talks for {b} minutes a day for {c} days. How many minutes are left on the plan?",
    'For {c} days {N} talks on the phone for {b} minutes each day. The plan has {a} minutes. How many minutes does {N} have left?'] },
  { id: 'paint', st: 'left_after', r: { b: [20, 150], c: [2, 9], e: [5, 400] }, w: { N: NAMES, th: ['birdhouses', 'stools', 'signs', 'boxes'], u: 'ml' }, q: [
    'A can holds {a} ml of paint. {N} paints {c} {th} and uses {b} ml on each one. How much paint is left, in ml?',
    '{N} uses {b} ml of paint on each of {c} wooden {th}. The can had {a} ml. How many ml of paint are left?',
    'How many ml of paint stay in a {a} ml can after {N} paints {c} {th} with {b} ml each?'] },
  { id: 'hay', st: 'left_after', r: { b: [3, 12], c: [2, 9], e: [10, 300] }, w: { an: ['horses', 'cows', 'goats'], u: 'kg' }, q: [
    'A barn holds {a} kg of hay. A farmer feeds {b} kg to each of his {c} {an}. How many kg of hay are left in the barn?',
    '{c} {an} each eat {b} kg of hay from a barn that held {a} kg. How many kg of hay remain?'] },
  { id: 'yarn', st: 'left_after', r: { b: [10, 60], c: [2, 9], e: [5, 200] }, w: { N: NAMES, it: ['hats', 'scarves', 'mittens'], u: 'meters' }, q: [
    '{N} has {a} meters of yarn and knits {c} {it}. Each one takes {b} meters. How many meters of yarn are left?',
    'Each of the {c} {it} {N} knits needs {b} meters of yarn. If {N} started with {a} meters, how many meters remain?'] },
  { id: 'buspass', st: 'left_after', r: { b: [2, 9], c: [2, 12], e: [5, 60] }, w: { N: NAMES, u: 'rides' }, q: [
    "{N}'s bus card has {a} rides. {N} takes {b} rides a week for {c} weeks. How many rides are left on the card?",
    "How many rides are left on {N}'s {a}-ride bus card after {c} weeks of {b} rides a week?"] },

  // ---- two_products: a*b + c*d ----
  { id: 'fruit', st: 'two_products', w: { N: NAMES, x: FRUITS, y: FRUITS, u: 'dollars' }, q: [
    '{N} buys {a} {x} at ${b} each, plus {c} {y} at ${d} each. How much does {N} spend in total?',
    '{N} buys {a} {x} as well as {c} {y}. The {x} cost ${b} each and the {y} cost ${d} each. How many dollars does {N} pay?'] },
  { id: 'crates', st: 'two_products', w: { x: 'big boxes', y: 'small boxes', u: OBJECTS }, q: [
    'A shop has {a} big boxes of {b} {u} and {c} small boxes of {d} {u}. Altogether, how many {u} does the shop have?',
    'Each of {a} big boxes holds {b} {u}, and each of {c} small boxes holds {d} {u}. Altogether, how many {u} do the boxes hold?'] },
  { id: 'wheels', st: 'two_products', r: { a: [2, 60], b: [4, 4], c: [2, 60], d: [2, 2] },
    w: { x: 'cars', y: 'bikes', u: 'wheels', pl: ['parking lot', 'street', 'garage'] }, q: [
      'A {pl} has {a} cars and {c} bikes. Each car has {b} wheels and each bike has {d} wheels. How many wheels are there in total?',
      'In a {pl} there are {a} cars with {b} wheels each and {c} bikes with {d} wheels each. How many wheels do they have altogether?'] },
  { id: 'tickets', st: 'two_products', held: true, r: { a: [2, 9], b: [10, 25], c: [2, 9], d: [2, 9] },
    w: { N: NAMES, x: 'adult tickets', y: 'child tickets', u: 'dollars' }, q: [
      'Adult tickets cost ${b} and child tickets cost ${d}. How much do {a} adult and {c} child tickets cost in total?',
      '{N} buys {a} adult tickets at ${b} each and {c} child tickets at ${d} each. What is the total cost in dollars?'] },
  { id: 'legs', st: 'two_products', held: true, r: { a: [2, 40], b: [4, 4], c: [2, 40], d: [2, 2] },
    w: { x: ['cows', 'goats', 'horses'], y: ['hens', 'ducks', 'geese'], u: 'legs' }, q: [
      'A farm has {a} {x} and {c} {y}. The {x} have {b} legs each and the {y} have {d} legs each. How many legs are there in total?'] },
  { id: 'quiz', st: 'two_products', r: { a: [2, 12], b: [3, 10], c: [2, 12], d: [2, 5] },
    w: { N: NAMES, x: 'hard questions', y: 'easy questions', u: 'points' }, q: [
      'In a quiz, {N} gets {a} hard questions right for {b} points each, plus {c} easy questions for {d} points each. How many points does {N} score?',
      '{N} answers {a} hard questions and {c} easy questions correctly. A hard one is worth {b} points, an easy one {d} points. How many points does {N} get?',
      'How many points does {N} score with {a} hard answers worth {b} points each and {c} easy answers worth {d} points each?'] },
  { id: 'sacks', st: 'two_products', r: { a: [2, 9], b: [2, 10], c: [2, 9], d: [2, 10] }, w: { N: NAMES, x: PANTRY, y: PANTRY, u: 'kg' }, q: [
    '{N} stocks a kitchen with {a} bags of {x} weighing {b} kg each, plus {c} bags of {y} weighing {d} kg each. How many kg is that altogether?',
    'A pantry shelf holds {c} bags of {y}, each weighing {d} kg. Next to them are {a} bags of {x} of {b} kg each. How many kg do all the bags weigh?'] },
  { id: 'setlist', st: 'two_products', r: { a: [2, 10], b: [2, 4], c: [2, 8], d: [5, 9] },
    w: { band: BANDS, x: 'short songs', y: 'long songs', u: 'minutes' }, q: [
      'A {band} plays {a} short songs of {b} minutes each and {c} long songs of {d} minutes each. How many minutes does the {band} play?',
      'How long is a concert, in minutes, with {c} long songs lasting {d} minutes each and {a} short songs lasting {b} minutes each?'] },
  { id: 'mailing', st: 'two_products', r: { a: [2, 12], b: [2, 3], c: [2, 9], d: [3, 8] }, w: { N: NAMES, x: 'letters', y: 'parcels', u: 'stamps' }, q: [
    '{N} mails {a} letters that need {b} stamps each and {c} parcels that need {d} stamps each. How many stamps does {N} use?',
    'At the post office, every parcel needs {d} stamps and every letter needs {b} stamps. How many stamps are needed for {c} parcels plus {a} letters?'] },
  { id: 'feeding', st: 'two_products', r: { a: [2, 12], b: [2, 9], c: [2, 12], d: [2, 9] },
    w: { x: ZOO_ANIMALS, y: ZOO_ANIMALS, u: 'apples' }, q: [
      'At the zoo, {a} {x} eat {b} apples each, while {c} {y} eat {d} apples each. How many apples does the keeper need?',
      'A keeper feeds {b} apples to each of the {a} {x} and {d} apples to each of the {c} {y}. How many apples is that?'] },
  { id: 'sewing', st: 'two_products', r: { a: [2, 10], b: [2, 8], c: [2, 10], d: [2, 8] },
    w: { N: NAMES, x: CLOTHES, y: CLOTHES, u: 'buttons' }, q: [
      '{N} sews {b} buttons on each of {a} {x} and {d} buttons on each of {c} {y}. How many buttons does {N} sew on?',
      'How many buttons are needed for {a} {x} with {b} buttons each and {c} {y} with {d} buttons each?'] },

  // ---- mul_div: a*b, then ÷c ----
  { id: 'pizza', st: 'mul_div', w: { u: 'dollars', p: ['friend', 'cousin', 'classmate'], f: ['pizzas', 'cakes', 'pies'] }, q: [
    '{c} {p}s buy {a} {f} for ${b} each and split the cost equally. How much does each {p} pay?',
    'Some {p}s buy {a} {f} at ${b} each. The {c} {p}s split the cost equally. How many dollars does each {p} pay?'] },
  { id: 'candy', st: 'mul_div', w: { N: NAMES, u: ['candies', 'cookies', 'grapes'], p: 'child' }, q: [
    '{N} has {a} bags of {b} {u} and shares them equally among {c} children. How many {u} does each child get?',
    '{N} shares {a} bags with {b} {u} in each bag equally among {c} children. How many {u} does each child get?'] },
  { id: 'boat', st: 'mul_div', w: { u: 'dollars', p: ['friend', 'cousin', 'neighbor'], m: ['boat', 'car', 'tent', 'bike'] }, q: [
    '{c} {p}s rent a {m} for {a} hours at ${b} an hour. They split the cost equally. How much does each {p} pay?',
    'A {m} costs ${b} an hour. {c} {p}s rent it for {a} hours and share the cost equally. How many dollars does each {p} pay?'] },
  { id: 'orchard', st: 'mul_div', held: true, w: { u: FRUITS, p: 'crate' }, q: [
    'A farmer picks {a} baskets of {b} {u} and puts them equally into {c} crates. How many {u} go in each crate?',
    'A farmer fills {a} baskets with {b} {u} each, then shares the {u} equally among {c} crates. How many {u} are in each crate?'] },
  { id: 'slices', st: 'mul_div', r: { a: [2, 6], b: [4, 12], c: [2, 8] }, w: { N: NAMES, f: ['cakes', 'pies', 'pizzas'], u: 'slices', p: 'guest' }, q: [
    '{N} cuts {a} {f} into {b} slices each and shares the slices equally among {c} guests. How many slices does each guest get?',
    'At a party, {c} guests share {a} {f} equally. Each of the {f} is cut into {b} slices. How many slices does every guest get?'] },
  { id: 'camp_fee', st: 'mul_div', r: { a: [2, 10], b: [6, 30], c: [2, 8] }, w: { p: ['hiker', 'camper', 'scout'], u: 'dollars' }, q: [
    '{c} {p}s stay at a campsite for {a} nights. A night costs ${b}, and they share the bill equally. How many dollars does each {p} pay?',
    'A campsite charges ${b} per night. If {c} {p}s camp for {a} nights and split the cost evenly, how much does each {p} pay?'] },
  { id: 'lessons', st: 'mul_div', r: { a: [2, 12], b: [8, 30], c: [2, 8] }, w: { i: ['piano', 'guitar', 'drum', 'singing'], p: 'student', u: 'dollars' }, q: [
    '{c} students take {a} group {i} lessons together. Each lesson costs ${b}, and they split the cost equally. How much does each student pay?',
    'How many dollars does each student pay if {a} {i} lessons at ${b} a lesson are shared equally by {c} students?',
    'The {c} students in a {i} class pay for {a} lessons that cost ${b} each, sharing the total evenly. What does each student pay, in dollars?'] },
  { id: 'flyers', st: 'mul_div', r: { a: [2, 12], b: [10, 30], c: [2, 8] }, w: { N: NAMES, u: ['flyers', 'leaflets', 'posters'], p: 'helper' }, q: [
    '{N} has {a} bundles of {b} {u} and hands them out equally to {c} helpers to deliver. How many {u} does each helper get?',
    '{c} helpers deliver {a} bundles of {u}, with {b} {u} in each bundle. If they share the work equally, how many {u} does each helper deliver?'] },
  { id: 'charms', st: 'mul_div', r: { a: [2, 8], b: [6, 30], c: [2, 8] }, w: { N: NAMES, u: ['beads', 'charms'], p: 'bracelet' }, q: [
    '{N} buys {a} packs of {b} {u} and uses all of them equally on {c} bracelets. How many {u} go on each bracelet?',
    'How many {u} does each bracelet get if {N} splits {a} packs of {b} {u} evenly over {c} bracelets?'] },
  { id: 'classrooms', st: 'mul_div', w: { u: 'books', p: 'classroom' }, q: [
    'A school library gets {a} boxes of {b} new books and divides them equally among {c} classrooms. How many books does each classroom get?',
    '{c} classrooms share {a} boxes of new books equally. There are {b} books in each box. How many books does each classroom receive?'] },

  // ---- bags: a*b, −c, then ÷d (c may be 1: write it as "{c} of them", never "{c} <plural>") ----
  { id: 'baking', st: 'bags', w: { N: NAMES, u: 'cookies', g: 'bags' }, q: [
    '{N} bakes {a} trays of {b} cookies and eats {c} of them. {N} puts the other cookies into bags, {d} to a bag. How many bags can {N} fill?'] },
  { id: 'eggs', st: 'bags', r: { a: [2, 14], b: [6, 30], d: [2, 12] }, w: { u: 'eggs', g: 'cartons' }, q: [
    'A farm collects {b} eggs a day for {a} days. A worker breaks {c} of them, and the rest are packed in cartons of {d}. How many cartons are filled?',
    'For {a} days a farm collects {b} eggs a day. It packs them in cartons of {d}, all except {c} that broke. How many cartons does it fill?'] },
  { id: 'seeds', st: 'bags', w: { N: NAMES, u: 'seeds', g: 'rows' }, q: [
    '{N} has {a} packets of {b} seeds. {N} loses {c} of them and plants the rest in rows of {d}. How many rows does {N} plant?'] },
  { id: 'oranges', st: 'bags', held: true, w: { u: FRUITS, g: 'bags' }, q: [
    'A shop gets {a} crates of {b} {u}. It throws away {c} bad ones and packs the rest in bags of {d}. How many bags does it fill?'] },
  { id: 'crayons', st: 'bags', w: { u: 'crayons', g: 'cups' }, q: [
    'A teacher opens {a} boxes of {b} crayons and gives {c} of them to the art room. She sorts the others into cups of {d}. How many cups does she fill?',
    'How many cups of {d} crayons can a teacher fill from {a} boxes of {b} crayons after giving away {c} of them?'] },
  { id: 'ballbuckets', st: 'bags', w: { N: NAMES, u: 'tennis balls', g: 'buckets' }, q: [
    '{N} coaches tennis and has {a} tubes of {b} tennis balls. During practice the players lose {c} of them. {N} puts the rest into buckets of {d}. How many buckets does {N} fill?',
    'From {a} tubes of {b} tennis balls, the players lose {c} of them at practice. {N} fills buckets with the rest, {d} balls per bucket. How many buckets are full?'] },
  { id: 'mailsacks', st: 'bags', w: { u: 'letters', g: 'stacks' }, q: [
    'A post office gets {a} sacks with {b} letters each. It sends back {c} of them with no address and ties the rest into stacks of {d}. How many stacks does it make?',
    'Postal workers tie letters into stacks of {d}. They have {a} sacks of {b} letters and return {c} of them to the senders. How many stacks can they tie?'] },
  { id: 'strings', st: 'bags', r: { a: [2, 8], b: [8, 15], d: [4, 8] }, w: { N: NAMES, u: 'beads', g: 'necklaces' }, q: [
    '{N} has {a} packs of {b} beads and drops {c} of them on the floor. {N} strings the rest into necklaces of {d} beads. How many necklaces does {N} make?',
    'How many necklaces with {d} beads each can {N} make from {a} packs of {b} beads after losing {c} of them?'] },
  { id: 'marshmallows', st: 'bags', r: { a: [2, 8], b: [6, 15], d: [2, 5] }, w: { u: 'marshmallows', g: 'sticks' }, q: [
    'At a campfire, scouts open {a} bags of {b} marshmallows and eat {c} of them right away. They put the rest on sticks, {d} to a stick. How many sticks do they use?',
    'Scouts roast marshmallows {d} to a stick. They brought {a} bags of {b} marshmallows but ate {c} of them first. How many sticks do they fill?'] },
  { id: 'dumplings', st: 'bags', w: { N: NAMES, u: 'dumplings', g: 'boxes' }, q: [
    '{N} folds {a} plates of {b} dumplings, cooks {c} of them for dinner and freezes the rest in boxes of {d}. How many boxes go into the freezer?',
    'How many boxes of {d} dumplings does {N} freeze after making {a} plates of {b} dumplings and cooking {c} of them?'] },

  // ---- sub_mul: a−b, then ×c ----
  { id: 'discount', st: 'sub_mul', r: { a: [10, 90], c: [2, 9] }, w: { g: GIFTS, u: 'dollars', v: 'dollars' }, q: [
    'A {g} costs ${a}. On sale it is ${b} cheaper. How much do {c} of them cost on sale?',
    'A shop sells a {g} for ${a}, but today it is ${b} off. How many dollars do {c} of them cost today?'] },
  { id: 'class', st: 'sub_mul', w: { u: 'students', v: OBJECTS }, q: [
    'A class has {a} students, but {b} are absent. Each student present gets {c} {v} from the teacher. How many {v} are given out?'] },
  { id: 'hens', st: 'sub_mul', w: { u: 'hens', v: 'eggs' }, q: [
    'A farm has {a} hens. {b} of them are sick and lay no eggs. Each other hen lays {c} eggs a week. How many eggs are laid in a week?',
    'Of the {a} hens on a farm, {b} are sick and lay no eggs. The others lay {c} eggs each. How many eggs do they lay?'] },
  { id: 'runners', st: 'sub_mul', held: true, w: { u: 'runners', v: 'laps' }, q: [
    '{a} runners start a race, and {b} of them drop out. Each runner who stays runs {c} laps. How many laps are run in total?'] },
  { id: 'choir', st: 'sub_mul', r: { a: [10, 60], c: [2, 8] }, w: { u: 'singers', v: 'song sheets' }, q: [
    'A choir has {a} singers, but {b} of them are sick today. Each singer who comes gets {c} song sheets. How many song sheets are handed out?',
    'How many song sheets does a choir leader print if {b} of the {a} singers are away and each of the others needs {c} sheets?'] },
  { id: 'ferry', st: 'sub_mul', r: { a: [10, 60], c: [2, 6] }, w: { u: 'cabins', v: 'people' }, q: [
    'A ferry has {a} cabins, and {b} of them are closed for repairs. Every open cabin sleeps {c} people. How many people can sleep on the ferry?',
    'Each open cabin on a ferry sleeps {c} people. The ferry has {a} cabins, but {b} are closed. How many people can the open cabins sleep?'] },
  { id: 'parcels', st: 'sub_mul', r: { a: [10, 60], c: [2, 9] }, w: { u: 'parcels', v: 'stamps' }, q: [
    'A post office has {a} parcels to send. {b} parcels are picked up by hand instead. Each of the others needs {c} stamps. How many stamps are used?',
    'How many stamps are needed if {c} stamps go on each parcel, and {b} of the {a} parcels are collected without stamps?'] },
  { id: 'cages', st: 'sub_mul', w: { u: 'cages', v: ZOO_FOOD }, q: [
    'A zoo has {a} cages. {b} cages are empty, and every other cage gets {c} {v} for lunch. How many {v} does the keeper hand out?',
    'Each cage with an animal in it gets {c} {v}. A zoo has {a} cages, and {b} of them are empty. How many {v} are needed?'] },
  { id: 'bulbs', st: 'sub_mul', w: { N: NAMES, u: 'pots', v: ['bulbs', 'seeds'] }, q: [
    '{N} has {a} flower pots, but {b} of them crack in the frost. {N} plants {c} {v} in each pot that is left. How many {v} does {N} plant?',
    'In each good pot, {N} plants {c} {v}. {N} had {a} pots, and {b} broke over the winter. How many {v} are planted?'] },
  { id: 'craft_club', st: 'sub_mul', w: { u: 'members', v: ['paper stars', 'paper boats', 'clay beads'] }, q: [
    'At a craft club of {a} members, {b} miss the meeting. Each member who comes makes {c} {v} to take home. How many {v} are made in all?',
    'How many {v} are made at a craft club of {a} members if {b} stay home and the rest make {c} {v} each?'] },

  // ---- age: a+b now, then +c years ----
  { id: 'sibling', st: 'age', w: { N: NAMES, M: NAMES }, q: [
    '{N} is {a}. {M} is {b} years older than {N}. How old will {M} be {c} years from now?',
    '{M} is {b} years older than {N}, who is {a}. How old will {M} be after {c} more years?'] },
  { id: 'parent', st: 'age', r: { a: [2, 40], b: [18, 40], c: [2, 20] }, w: { N: NAMES, rel: ['mother', 'father', 'aunt', 'uncle'] }, q: [
    '{N} is {a} now. {N} was born when the {rel} was {b}. What age will the {rel} reach in {c} years?'] },
  { id: 'tree', st: 'age', w: { x: TREES, y: TREES }, q: [
    'The {x} tree in a park is {a}. The {y} tree is {b} years older. What age will the {y} tree be in {c} years?',
    'The {y} tree is {b} years older than an old {x} tree, which is {a}. What age will the {y} tree be in {c} years?'] },
  { id: 'building', st: 'age', held: true, w: { x: BUILDINGS, y: BUILDINGS }, q: [
    'A {x} is {a} years old. The {y} next to it is {b} years older. How old will the {y} be in {c} years?',
    'A {x} was built {a} years ago. A {y} in the same town is {b} years older. How old will the {y} be in {c} years?'] },
  { id: 'pets', st: 'age', r: { a: [2, 8], b: [2, 6], c: [2, 10] }, w: { N: NAMES, x: PETS, y: PETS }, q: [
    "{N}'s {x} is {a}. The {y} is {b} years older than the {x}. How old is the {y} going to be in {c} years?",
    "What age will {N}'s {y} be {c} years from now, if the {y} is {b} years older than {N}'s {a}-year-old {x}?"] },
  { id: 'grandparent', st: 'age', r: { a: [25, 45], b: [18, 35], c: [2, 20] }, w: { N: NAMES, g: ['grandmother', 'grandfather'] }, q: [
    "{N}'s mother is {a}. {N}'s {g} is {b} years older than her. How old is the {g} going to be {c} years from now?",
    "{N}'s {g} was {b} when {N}'s mother was born, and the mother is {a} now. What age will the {g} turn in {c} years?"] },
  { id: 'tortoise', st: 'age', r: { a: [4, 40], b: [10, 60], c: [2, 20] }, w: { x: ['elephant', 'giraffe', 'camel', 'zebra'] }, q: [
    "The zoo's {x} is {a}. The zoo's tortoise is {b} years older than the {x}. How old is the tortoise going to be after {c} more years?",
    "After {c} more years, how old will the zoo's tortoise be? Today the tortoise is {b} years older than the {x}, which is {a}."] },
  { id: 'coach', st: 'age', r: { a: [6, 18], b: [15, 40], c: [2, 20] }, w: { N: NAMES, s: ['tennis', 'chess', 'swimming', 'skating'] }, q: [
    "{N} is a {a}-year-old {s} player. {N}'s coach is {b} years older. What will the coach's age be in {c} years?",
    "{N}'s {s} coach is {b} years older than {N}, and {N} is {a}. How old will the coach be {c} years from now?"] },
  { id: 'pony', st: 'age', r: { a: [2, 10], b: [2, 12], c: [2, 10] }, w: { N: NAMES, x: ['pony', 'horse', 'donkey'] }, q: [
    '{N} rides a {x} that is {a}. Its mother is {b} years older than that. What age will the mother be {c} years from now?',
    'In {c} years, what age will the mother of {N}\'s {x} be? The {x} is {a}, and its mother is {b} years older.'] },
  { id: 'cousins', st: 'age', w: { N: NAMES, M: NAMES }, q: [
    '{N} is {a} and has a cousin, {M}, who is {b} years older. What age will {M} turn {c} years from now?',
    'In {c} years, how old will {M} be? {M} is {b} years older than cousin {N}, who is {a} today.'] },

  // ---- div_mul: a/b groups, then ×c ----
  { id: 'tables', st: 'div_mul', w: { u: ['candles', 'flowers', 'napkins', 'balloons'], g: 'tables' }, q: [
    'How many {u} are needed if {a} guests sit at tables of {b} and each table gets {c} {u}?',
    'At a party {a} guests sit at tables of {b}, and each table has {c} {u} on it. How many {u} does the party need?'] },
  { id: 'fruitbags', st: 'div_mul', w: { f: FRUITS, u: 'dollars', g: 'bags' }, q: [
    'A farmer packs {a} {f} into bags of {b}. Each bag sells for ${c}. How much money does the farmer get for all the bags?',
    'A farmer sells {a} {f} in bags of {b}, at ${c} a bag. How many dollars does the farmer get?'] },
  { id: 'carpool', st: 'div_mul', w: { u: 'liters', g: ['cars', 'vans', 'boats'], m: ['people', 'fans', 'players'] }, q: [
    '{a} {m} travel in {g} that hold {b} {m} each. Each of the {g} uses {c} liters of fuel. How many liters are used?'] },
  { id: 'groups', st: 'div_mul', held: true, w: { u: 'markers', g: 'groups' }, q: [
    'A class of {a} students forms groups of {b}. Each group needs {c} markers. How many markers are needed?',
    'A teacher splits {a} students into groups of {b} and gives {c} markers to each group. How many markers does she give?'] },
  { id: 'cakes', st: 'div_mul', r: { b: [2, 6], q: [2, 8], c: [2, 12] }, w: { N: NAMES, u: 'spoons of sugar', g: 'cakes' }, q: [
    '{N} has {a} eggs and uses {b} eggs for each cake. Each cake also needs {c} spoons of sugar. How many spoons of sugar does {N} need?',
    'How many spoons of sugar does {N} use to bake cakes with {a} eggs, if every cake takes {b} eggs and {c} spoons of sugar?'] },
  { id: 'pens', st: 'div_mul', r: { b: [2, 8], q: [2, 15], c: [2, 6] }, w: { an: ['penguins', 'goats', 'rabbits'], u: 'buckets of water', g: 'pens' }, q: [
    'A zoo keeps {a} {an} in pens of {b}. Every pen gets {c} buckets of water a day. How many buckets of water does the zoo use a day?',
    '{c} buckets of water go to each pen at a petting zoo. The zoo has {a} {an}, with {b} in each pen. How many buckets of water are needed?'] },
  { id: 'string', st: 'div_mul', r: { b: [6, 12], q: [2, 10], c: [10, 25] }, w: { N: NAMES, u: 'cm', g: 'bracelets' }, q: [
    '{N} has {a} beads and puts {b} beads on each bracelet. Every bracelet needs {c} cm of string. How many cm of string does {N} use?',
    'Each bracelet {N} makes has {b} beads on {c} cm of string. How much string, in cm, does {N} need to use up all {a} beads?'] },
  { id: 'pegs', st: 'div_mul', r: { b: [2, 6], q: [2, 15], c: [4, 12] }, w: { u: 'pegs', g: 'tents' }, q: [
    '{a} campers sleep {b} to a tent. Each tent is held down by {c} pegs. How many pegs are needed?',
    'A camp needs {c} pegs for every tent. If {a} scouts sleep in tents of {b}, how many pegs does the camp need?'] },
  { id: 'booklets', st: 'div_mul', r: { b: [4, 12], q: [2, 15], c: [2, 4] }, w: { u: 'staples', g: 'booklets' }, q: [
    'A school office prints {a} pages and binds them into booklets of {b} pages. Each booklet needs {c} staples. How many staples does the office use?',
    'How many staples go into booklets made from {a} pages, with {b} pages and {c} staples per booklet?'] },
  { id: 'bundles', st: 'div_mul', r: { b: [5, 20], q: [2, 12], c: [2, 9] }, w: { it: MAIL, u: 'dollars', g: 'bundles' }, q: [
    'A post office ties {a} {it} into bundles of {b}. Sending each bundle costs ${c}. How much does it cost to send all the bundles?',
    'It costs ${c} to send one bundle of {it}. How many dollars does it cost to send {a} {it} in bundles of {b}?'] },

  // ---- sum_mul: b+c units of time, then ×a per unit ----
  { id: 'wages', st: 'sum_mul', w: { N: NAMES, t: 'hours', u: 'dollars' }, q: [
    '{N} earns ${a} an hour and works {b} hours on Monday and {c} hours on Tuesday. How much does {N} earn?',
    '{N} works {b} hours on Monday and {c} hours on Tuesday for ${a} an hour. How many dollars does {N} earn?'] },
  { id: 'pages', st: 'sum_mul', w: { N: NAMES, t: 'days', u: 'pages' }, q: [
    '{N} reads {a} pages each day. {N} reads for {b} days in May and {c} days in June. How many pages does {N} read?'] },
  { id: 'laps', st: 'sum_mul', w: { N: NAMES, t: 'days', u: 'laps' }, q: [
    '{N} swims {a} laps each day, for {b} days one week and {c} days the next week. How many laps does {N} swim in total?'] },
  { id: 'orchard_rows', st: 'sum_mul', held: true, w: { t: 'rows', u: 'trees' }, q: [
    'A farmer plants {a} trees in each row. He plants {b} rows on Monday and {c} rows on Tuesday. How many trees does he plant?'] },
  { id: 'practice_days', st: 'sum_mul', w: { N: NAMES, i: INSTRUMENTS, t: 'days', u: 'minutes' }, q: [
    '{N} practices the {i} for {a} minutes a day. {N} practices on {b} days in the first week and {c} days in the second. How many minutes is that?',
    'How many minutes does {N} spend on the {i} over two weeks, playing {a} minutes a day on {b} days and then on {c} days?'] },
  { id: 'shuttle', st: 'sum_mul', w: { v: ['bus', 'ferry', 'shuttle'], t: 'trips', u: 'passengers' }, q: [
    'A {v} carries {a} passengers on every trip. It makes {b} trips in the morning and {c} trips in the evening. How many passengers does it carry?',
    'In the morning a {v} makes {b} trips, and in the evening it makes {c} more. If it carries {a} passengers each trip, how many passengers ride in all?'] },
  { id: 'route', st: 'sum_mul', w: { N: NAMES, t: 'streets', u: ['letters', 'flyers'] }, q: [
    'A mail carrier drops off {a} {u} on every street. She covers {b} streets before lunch and {c} streets after lunch. How many {u} does she deliver?',
    '{N} brings {a} {u} to each street on the route: {b} streets north of the river and {c} streets south of it. How many {u} does {N} bring?'] },
  { id: 'zoo_pens', st: 'sum_mul', w: { u: ZOO_FOOD, t: 'pens' }, q: [
    'A keeper puts {a} {u} in each pen. There are {b} pens in the north zoo and {c} pens in the south zoo. How many {u} does the keeper need?',
    'How many {u} are used if a keeper feeds {b} pens in the morning and {c} pens in the afternoon, with {a} {u} in each pen?'] },
  { id: 'cranes', st: 'sum_mul', w: { N: NAMES, t: 'hours', u: 'paper cranes' }, q: [
    '{N} folds {a} paper cranes an hour. {N} folds for {b} hours on Saturday and {c} hours on Sunday. How many paper cranes does {N} fold?',
    'On Saturday {N} folds paper cranes for {b} hours and on Sunday for {c} hours, at {a} cranes an hour. How many cranes does {N} fold?'] },
  { id: 'hoops', st: 'sum_mul', w: { N: NAMES, t: 'games', u: 'points' }, q: [
    '{N} scores {a} points in every basketball game. {N} plays {b} games in March and {c} games in April. How many points does {N} score?',
    'Over {b} games in the fall and {c} games in the spring, {N} scores {a} points a game. How many points is that?'] },

  // ---- mul_add_sub: b*c added to a, then −d ----
  { id: 'earn_spend', st: 'mul_add_sub', r: { a: [5, 90], b: [3, 25], c: [2, 9] }, w: { N: NAMES, u: 'dollars' }, q: [
    '{N} has ${a}. {N} earns ${b} a day for {c} days, then spends ${d}. How much money does {N} have now?'] },
  { id: 'stock', st: 'mul_add_sub', w: { u: SHOP_ITEMS }, q: [
    'A shop has {a} {u}. It gets {b} boxes of {c} more {u}, then sells {d} {u} in a sale. How many {u} does the shop have now?'] },
  { id: 'library', st: 'mul_add_sub', w: { u: 'books' }, q: [
    'A library has {a} books. It buys {b} boxes of {c} books and gives away {d} old books. How many books does it have now?'] },
  { id: 'flock', st: 'mul_add_sub', held: true, w: { u: ['sheep', 'goats', 'cows'] }, q: [
    'A farmer has {a} {u}. He buys {b} groups of {c} {u} at a market and later sells {d} {u}. How many {u} does he have now?'] },
  { id: 'album', st: 'mul_add_sub', w: { N: NAMES, M: NAMES, u: 'stamps' }, q: [
    '{N} collects stamps and has {a} of them. {N} buys {b} packs of {c} stamps and then gives {d} stamps to {M}. How many stamps does {N} have now?',
    "How many stamps are in {N}'s album after {N} adds {b} packs of {c} stamps to the {a} already there and then trades {d} away?"] },
  { id: 'cafe', st: 'mul_add_sub', w: { u: ['cups', 'plates', 'bowls'] }, q: [
    'A cafe has {a} {u}. The owner buys {b} boxes of {c} new {u}, and later {d} {u} break. How many {u} does the cafe have now?',
    'A cafe owner orders {b} boxes with {c} {u} in each box to add to the {a} {u} in the kitchen. Then {d} {u} get broken. How many {u} can still be used?'] },
  { id: 'chairs', st: 'mul_add_sub', r: { a: [5, 90], b: [2, 9], c: [3, 20] }, w: { u: 'chairs' }, q: [
    'A school hall has {a} chairs. The school buys {b} stacks of {c} chairs, then sends {d} broken chairs away for repair. How many chairs are in the hall now?',
    'After {d} chairs go out for repair, how many chairs does a school hall have, if it had {a} and got {b} stacks of {c} more?'] },
  { id: 'downloads', st: 'mul_add_sub', r: { a: [5, 90], b: [2, 9], c: [8, 20] }, w: { N: NAMES, u: 'songs' }, q: [
    "{N}'s music app holds {a} songs. {N} downloads {b} albums with {c} songs each and deletes {d} songs. How many songs are in the app now?",
    '{N} downloads {b} albums of {c} songs, adding them to {a} songs already saved. Later {N} deletes {d} songs. How many songs does {N} have saved?'] },
  { id: 'logs', st: 'mul_add_sub', r: { a: [5, 90], b: [2, 6], c: [3, 10] }, w: { u: 'logs' }, q: [
    'At a camp there is a pile of {a} logs. The campers bring {b} armfuls of {c} logs and burn {d} logs in the fire. How many logs are in the pile now?',
    'Campers burn {d} logs after adding {b} armfuls of {c} logs to a pile of {a} logs. How many logs remain?'] },
  { id: 'gym', st: 'mul_add_sub', w: { u: ['basketballs', 'footballs', 'volleyballs'] }, q: [
    'A gym has {a} {u}. It orders {b} nets with {c} {u} in each, and then {d} {u} go flat. How many {u} can still be used?',
    'How many good {u} does a gym have if it starts with {a}, receives {b} nets of {c} {u} and throws out {d} flat ones?'] },
];
