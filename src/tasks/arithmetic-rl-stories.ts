// The RL-ONLY story table of the arithmetic task (issue 11). GRPO needs prompts that the model
// sometimes solves (so the reward varies) and that it never saw in SFT (so it cannot just recall a
// memorised wording). These stories are a THIRD pool of wordings of the same 14 structures of
// arithmetic.ts: they are used only as RL prompts, never in the SFT train split and never in the
// held-out test.
//
// The rules are those of arithmetic-stories.ts (read its header): every number slot of the
// structure's steps ({a}, {b}, ...) written in every phrasing, digits only from those slots; the
// structure's line slots ({u}, {p}, {g}, {t}, {x}, {y}, {v}) filled with words that make its
// reasoning lines read sensibly; questions ≤ 40 words; money written "${b}"; lists used after "a"
// start with a consonant sound; a count that may be 1 (c of "bags") written "{c} of them".
// Two rules more:
//   - NEW SETTINGS: a story's scene and objects differ from every train story and from the held-out
//     story of its structure (no temperatures, tickets, legs, toy machines, teams, bakeries, road
//     trips, orchards, runners, building ages, markers, flocks, trays or bagged fruit here);
//   - NEW WORDS: no phrasing shares a run of 5 consecutive words (slots as placeholders; see
//     phrasing.testlib.ts) with any train or held-out phrasing, so the model must READ the question
//     to find the operation instead of matching a wording it learned.
import type { Story } from './arithmetic-stories.ts';

// ---- word lists (no digits; lists used after "a" start with a consonant sound) ----
const NAMES = ['Greta', 'Tomas', 'Yara', 'Dev', 'Kira', 'Milo', 'Suki', 'Pablo', 'Wren', 'Nadia', 'Felix',
  'Juno', 'Hugo', 'Layla', 'Rafael', 'Tess', 'Bruno', 'Clara', 'Jonah', 'Priya'];
const POLLINATORS = ['hummingbird', 'bumblebee', 'butterfly'];
const TANK_LIFE = ['guppies', 'goldfish', 'snails', 'tetras'];
const BOATS = ['sailboats', 'fishing boats', 'yachts', 'rowboats'];
const CUT_FLOWERS = ['daisies', 'lilies', 'carnations', 'peonies'];
const FURNITURE = ['tables', 'stools', 'cabinets', 'bookcases']; // x and y: one list, two different picks
const LANDMARKS = ['lighthouse', 'castle', 'temple'];

export const RL_STORIES: readonly Story[] = [
  // ---- mul: a*b ----
  { id: 'rl_hive_mul', st: 'mul', w: { u: 'jars of honey' }, q: [
    'A beekeeper looks after {a} hives, and every hive fills {b} jars of honey this summer. How many jars of honey is that?',
    'Each beehive on a hillside yields {b} jars of honey. If a beekeeper keeps {a} hives, what number of jars of honey does she collect?',
    'How many jars of honey come from {a} beehives when one hive gives {b} jars?'] },
  { id: 'rl_quilt_mul', st: 'mul', w: { N: NAMES, u: 'patches' }, q: [
    '{N} sews a quilt from {a} strips of cloth and stitches {b} patches onto every strip. How many patches does the quilt have?',
    'A quilt is made of {a} strips, with {b} cloth patches on each one. Count the patches: how many are there?',
    'To finish a quilt, {N} needs {a} strips of {b} patches apiece. How many patches must {N} cut out?'] },

  // ---- rate_time: rate a per unit of time, for b units ----
  { id: 'rl_pollinator_rate', st: 'rate_time', w: { bird: POLLINATORS, u: 'flowers', t: 'hours' }, q: [
    'Sipping nectar, a {bird} stops at {a} flowers in one hour. If it keeps this pace, how many flowers does it visit in {b} hours?',
    'How many flowers can a {bird} reach in {b} hours, going to {a} flowers an hour?',
    'For {b} hours a {bird} flits around a meadow, landing on {a} flowers per hour. What is the number of flowers it lands on?'] },
  { id: 'rl_skipping_rate', st: 'rate_time', r: { a: [40, 95], b: [2, 15] }, w: { N: NAMES, u: 'skips', t: 'minutes' }, q: [
    '{N} can skip rope {a} times a minute. Skipping without a break, how many skips does {N} make in {b} minutes?',
    'In a skipping contest lasting {b} minutes, {N} jumps the rope {a} times each minute. How many skips is that?',
    'What number of skips does {N} manage in {b} minutes, keeping a pace of {a} skips per minute?'] },

  // ---- div: a/b ----
  { id: 'rl_aquarium_div', st: 'div', w: { N: NAMES, u: TANK_LIFE, p: 'tank' }, q: [
    '{N} moves {a} {u} into {b} new tanks, putting the same number in each. How many of them end up in each tank?',
    'An aquarium keeper shares {a} {u} out fairly between {b} tanks. How many {u} live in each tank?',
    'There are {b} tanks at an aquarium and {a} {u} to divide among them equally. What number of {u} goes into one tank?'] },
  { id: 'rl_stairs_div', st: 'div', w: { pl: LANDMARKS, u: 'steps', p: 'flight' }, q: [
    'The staircase of an old {pl} has {a} steps, split into {b} flights of equal length. How many steps does each flight have?',
    '{a} steps lead to the top of a {pl}, in {b} equal flights. How many steps are in one flight?',
    'How many steps make up each flight if the stair of a {pl}, with {a} steps, is built as {b} equal flights?'] },

  // ---- add_sub: a+b, then −c ----
  { id: 'rl_channel_add_sub', st: 'add_sub', w: { N: NAMES, u: 'followers' }, q: [
    "{N}'s cooking channel has {a} followers. This week {b} new people follow it and {c} people unfollow. What is its number of followers now?",
    'A video channel about cooking starts the week with {a} followers, gains {b}, and loses {c}. How many followers remain at the end of the week?',
    "How many followers does {N}'s video channel keep if it had {a}, won {b} more after a new video, and then {c} people stopped following?"] },
  { id: 'rl_harbor_add_sub', st: 'add_sub', w: { u: BOATS }, q: [
    'At dawn a harbor holds {a} {u}. During the day {b} more {u} sail in, and at dusk {c} {u} head out to sea. How many of the {u} are in the harbor at nightfall?',
    '{b} {u} dock at a harbor that already has {a}, and later {c} leave. What number of {u} is left at the docks?',
    'How many {u} remain moored after a harbor with {a} {u} welcomes {b} more and sees {c} sail away?'] },

  // ---- mul_sub: a*b, then −c ----
  { id: 'rl_florist_mul_sub', st: 'mul_sub', w: { u: CUT_FLOWERS }, q: [
    'A florist orders {a} bunches of {b} {u}. Before the wedding, {c} {u} wilt. How many fresh {u} does the florist still have?',
    '{c} {u} droop in the heat after a florist unpacks {a} bunches holding {b} {u} apiece. What number of fresh {u} is left?',
    'Each bunch holds {b} {u}, and a flower stall gets {a} bunches. Once {c} of those flowers wilt, how many flowers are left for bouquets?'] },
  { id: 'rl_bricks_mul_sub', st: 'mul_sub', w: { N: NAMES, u: 'bricks' }, q: [
    '{N} opens {a} toy kits, each with {b} bricks, and uses {c} bricks for a castle. How many bricks are not in the castle?',
    'A toy castle uses {c} bricks. {N} took them from {a} kits of {b} bricks each. How many bricks does {N} have spare?',
    'How many bricks stay in the box after {N} builds a spaceship with {c} of the bricks from {a} kits holding {b} bricks each?'] },

  // ---- left_after: b*c used up, a − that is left ----
  { id: 'rl_camera_left', st: 'left_after', r: { b: [10, 60], c: [2, 12], e: [5, 200] }, w: { N: NAMES, u: 'photos' }, q: [
    "{N}'s camera card has room for {a} photos. On a trip, {N} takes {b} photos daily across {c} days. How many more photos fit on the card?",
    'For {c} days of a holiday, {N} snaps {b} photos each day on a camera that stores {a} photos. How much room is left, in photos?',
    'How many photos can still be stored on a memory card with space for {a} once {N} has taken {b} photos on each of {c} days?'] },
  { id: 'rl_wrapping_left', st: 'left_after', r: { b: [20, 90], c: [2, 9], e: [10, 300] }, w: { N: NAMES, u: 'cm' }, q: [
    '{N} has a roll of wrapping paper {a} cm long. Wrapping each of {c} presents takes {b} cm. How many cm of paper remain on the roll?',
    'There are {c} birthday presents to wrap, and each needs {b} cm of paper. The roll is {a} cm long. What length is left over, in cm?',
    'How many cm of wrapping paper will {N} have after covering {c} gifts with {b} cm each, starting from a roll of {a} cm?'] },

  // ---- two_products: a*b + c*d ----
  { id: 'rl_hotel_two', st: 'two_products', r: { a: [2, 12], b: [3, 8], c: [2, 12], d: [2, 4] },
    w: { x: 'suites', y: 'single rooms', u: 'towels' }, q: [
      'A hotel puts {b} towels in each of its {a} suites and {d} towels in each of its {c} single rooms. How many towels does the hotel need?',
      'Every single room at a hotel gets {d} towels, and every suite gets {b}. There are {c} single rooms and {a} suites. How many towels are laid out?',
      'How many towels does a housekeeper carry to {a} suites with {b} towels each and {c} single rooms with {d} towels each?'] },
  { id: 'rl_carpenter_two', st: 'two_products', w: { x: FURNITURE, y: FURNITURE, u: 'screws' }, q: [
    'A carpenter builds {a} {x}, then {c} {y}. Each of the {x} takes {b} screws, and each of the {y} takes {d} screws. How many screws are used?',
    'How many screws does a carpenter drive into {a} {x} needing {b} screws apiece and {c} {y} needing {d} each?',
    'Every one of the {c} {y} in a workshop order needs {d} screws, while the {a} {x} need {b} screws each. How many screws go into the whole order?'] },

  // ---- mul_div: a*b, then ÷c ----
  { id: 'rl_cycling_mul_div', st: 'mul_div', w: { u: 'energy bars', p: 'cyclist' }, q: [
    'Before a long ride, a coach orders {a} boxes holding {b} energy bars and splits them evenly among {c} cyclists. How many energy bars does each cyclist get?',
    '{c} cyclists share {a} boxes of energy bars equally. Each box contains {b} bars. How many energy bars does one cyclist receive?',
    'How many energy bars go to each of {c} cyclists when {a} boxes with {b} bars inside are shared out fairly?'] },
  { id: 'rl_chestnut_mul_div', st: 'mul_div', w: { u: 'chestnuts', p: 'cousin' }, q: [
    '{c} cousins gather chestnuts in a forest. They fill {a} sacks with {b} chestnuts each and divide them equally. How many chestnuts does each cousin take home?',
    'In the woods, {a} sacks of {b} chestnuts are collected by {c} cousins, who share them evenly. What is the share of each cousin, in chestnuts?',
    'How many chestnuts does each of {c} cousins get from {a} sacks holding {b} chestnuts apiece, if they split them fairly?'] },

  // ---- bags: a*b, −c, then ÷d (c may be 1: "{c} of them") ----
  { id: 'rl_soap_bags', st: 'bags', w: { N: NAMES, u: 'soap bars', g: 'gift sets' }, q: [
    '{N} pours soap into {a} molds, and each mold gives {b} soap bars. {N} keeps {c} of them and wraps the others in gift sets of {d}. How many gift sets does {N} wrap?',
    'Gift sets hold {d} soap bars each. {N} made {a} molds of {b} bars and kept {c} of them at home. How many gift sets can {N} fill with the rest?',
    'How many gift sets of {d} bars does {N} end up with from {a} soap molds of {b} bars each, after keeping {c} of them for home?'] },
  { id: 'rl_blocks_bags', st: 'bags', w: { u: 'wooden blocks', g: 'sets' }, q: [
    'A toymaker saws {a} planks into {b} wooden blocks each, throws away {c} of them with cracks, and boxes up the rest in sets of {d}. How many sets are packed?',
    'Sets of {d} wooden blocks go on sale at a toy fair. A toymaker cut {b} blocks from each of {a} planks but lost {c} of them to cracks. How many full sets can be made?',
    'How many sets of {d} blocks come out of {a} planks, if every plank gives {b} wooden blocks and {c} of them split?'] },

  // ---- sub_mul: a−b, then ×c ----
  { id: 'rl_fleet_sub_mul', st: 'sub_mul', w: { u: 'boats', v: 'tuna' }, q: [
    'A fishing fleet has {a} boats. A storm keeps {b} boats in port, and each boat that sails catches {c} tuna. How many tuna does the fleet catch?',
    '{b} of the {a} boats in a fishing fleet stay home because of rough seas. The rest bring back {c} tuna apiece. How many tuna are landed?',
    'How many tuna are caught if a fleet of {a} fishing boats leaves {b} boats at the dock and every other boat lands {c} tuna?'] },
  { id: 'rl_bikes_sub_mul', st: 'sub_mul', r: { a: [10, 60], c: [2, 6] }, w: { u: 'bikes', v: 'rentals' }, q: [
    'A bike rental stand owns {a} bikes, but {b} have flat tires. Each working bike is rented {c} times on Saturday. How many rentals are there on Saturday?',
    'On a sunny Saturday, every working bike at a rental stand goes out {c} times. The stand has {a} bikes, and {b} are broken. How many rentals does it make?',
    'How many rentals does a stand with {a} bikes get if {b} bikes need repairs while every other bike is hired out {c} times?'] },

  // ---- age: a+b now, then +c years ----
  { id: 'rl_heirloom_age', st: 'age', w: { N: NAMES }, q: [
    "{N}'s grandmother keeps a wall clock that is {a} years old. Her music box was made {b} years before the clock. What age will the music box reach {c} years from now?",
    'In {c} years, how many years old will an antique music box be? It was made {b} years before a wall clock, and the clock is {a} years old.',
    'A wall clock is {a} years old, and a music box from the same attic is {b} years older. Find the age of the music box {c} years from now.'] },
  { id: 'rl_captain_age', st: 'age', r: { a: [25, 60], b: [2, 20], c: [2, 20] }, w: { N: NAMES }, q: [
    "Captain {N} turned {a} this spring. The ship's cook was born {b} years before the captain. How old will the cook be once {c} more years have passed at sea?",
    "The cook on a sailing ship was born {b} years earlier than Captain {N}, who is {a}. In {c} years, what will the cook's age be?",
    "What age does the ship's cook turn in {c} years, if Captain {N} is {a} and the cook is {b} years older?"] },

  // ---- div_mul: a/b groups, then ×c ----
  { id: 'rl_vases_div_mul', st: 'div_mul', r: { b: [3, 8], q: [2, 15], c: [100, 500] }, w: { N: NAMES, u: 'ml', g: 'vases' }, q: [
    'For a wedding, {N} arranges {a} roses in vases of {b}. Each vase is filled with {c} ml of water. How many ml of water does {N} use?',
    'Every vase at a wedding holds {b} roses and {c} ml of water. If there are {a} roses, how many ml of water are needed?',
    'How much water, in ml, goes into the vases when {a} roses are set out {b} to a vase with {c} ml in each?'] },
  { id: 'rl_pallets_div_mul', st: 'div_mul', r: { b: [4, 8], q: [2, 15], c: [5, 15] }, w: { u: 'meters', g: 'pallets' }, q: [
    'A warehouse loads {a} cartons onto pallets, {b} cartons per pallet. Each pallet is wrapped in {c} meters of plastic film. How many meters of film are used?',
    'It takes {c} meters of plastic film to wrap one pallet. A warehouse stacks {a} cartons, {b} to a pallet. How many meters of film does it need?',
    'How many meters of plastic film does a warehouse use on {a} cartons packed {b} per pallet, with {c} meters for every pallet?'] },

  // ---- sum_mul: b+c units of time, then ×a per unit ----
  { id: 'rl_potter_sum_mul', st: 'sum_mul', w: { N: NAMES, t: 'shifts', u: 'bowls' }, q: [
    '{N} shapes {a} clay bowls on every shift at a pottery studio. {N} works {b} shifts one week and {c} shifts the next. How many bowls does {N} shape?',
    'At a pottery studio, {N} works {b} shifts before the holidays and {c} shifts after them, making {a} bowls per shift. How many bowls is that?',
    'How many clay bowls come off the wheel if {N} makes {a} of them each shift and works {b} shifts plus {c} more?'] },
  { id: 'rl_cinema_sum_mul', st: 'sum_mul', r: { a: [30, 90], b: [2, 9], c: [2, 9] }, w: { t: 'shows', u: 'viewers' }, q: [
    'A small cinema fills all {a} seats at every show. It runs {b} shows on Friday and {c} shows on Saturday. How many viewers come in all?',
    'On Friday a cinema screens a film {b} times, and on Saturday {c} times. Each show is sold out with {a} viewers. How many viewers watch the film?',
    'How many people see a film at a cinema with {a} seats if every one of its {b} evening shows and {c} late shows is full?'] },

  // ---- mul_add_sub: b*c added to a, then −d ----
  { id: 'rl_costumes_mul_add_sub', st: 'mul_add_sub', w: { u: 'costumes' }, q: [
    'A theater keeps {a} costumes in storage. The tailors sew {b} sets of {c} new costumes, and {d} costumes get torn on tour. How many costumes are usable now?',
    'After a tour, {d} costumes are too torn to wear. Before it, a theater had {a} costumes and sewed {b} sets of {c} more. How many costumes can still be worn?',
    'How many costumes does a theater have left if it begins the season with {a}, adds {b} sets of {c} fresh ones, and throws out {d} worn-out costumes?'] },
  { id: 'rl_recycling_mul_add_sub', st: 'mul_add_sub', w: { u: 'jars' }, q: [
    'A recycling center has {a} glass jars. Then {b} vans each drop off {c} more jars, and {d} jars are crushed. How many jars are still in one piece?',
    'Workers crush {d} jars at a recycling center after {b} vans bring {c} jars apiece to the {a} jars already in the yard. How many jars remain?',
    'How many jars are waiting at a recycling center that began with {a}, took in {b} vanloads of {c} jars and then crushed {d}?'] },
];
