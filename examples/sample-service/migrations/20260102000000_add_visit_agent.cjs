/** Records the user agent of each visit. */
exports.up = (knex) =>
  knex.schema.alterTable('visits', (t) => {
    t.string('agent', 200);
  });

exports.down = (knex) =>
  knex.schema.alterTable('visits', (t) => {
    t.dropColumn('agent');
  });
