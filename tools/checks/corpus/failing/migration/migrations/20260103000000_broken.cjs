/** A migration that fails: it alters a table that does not exist. */
exports.up = (knex) =>
  knex.schema.alterTable('no_such_table', (t) => {
    t.string('never', 10);
  });

exports.down = () => Promise.resolve();
