/** Seeds a new branch database with one visit, so a fresh preview has data to show. */
exports.seed = async (knex) => {
  await knex('visits').insert({ path: '/', agent: 'seed' });
};
