/** Creates the table the sample service records visits in. */
exports.up = (knex) =>
  knex.schema.createTable('visits', (t) => {
    t.increments('id');
    t.string('path', 200).notNullable();
    t.timestamp('at').notNullable().defaultTo(knex.fn.now());
  });

exports.down = (knex) => knex.schema.dropTable('visits');
