import { defineHandler, type SalesforceEvent } from 'forcehook';

export type SyncStatus = 'Matched' | 'No match' | 'Ambiguous';

/**
 * The example that does real work (what the openstax accounts sync and the SalesforceSync gem do,
 * event-driven): match each Contact to a user of your app by email, case-insensitively; remember
 * the Contact's id on the user; and write back to the Contact which user it is (`External_Id__c`)
 * and how the match went (`Sync_Status__c`). Copy it to start your own: examples/README.md.
 */
export const contactMatchHandler = defineHandler({
  name: 'contact-match',
  match: { flow: 'contacts', sobjectType: 'Contact', operations: ['insert', 'update', 'upsert', 'undelete', 'delete'] },
  batchSize: 200,
  async handle(events, ctx) {
    const deleted = events.filter((e) => e.operation === 'delete').map((e) => e.recordId);
    if (deleted.length > 0) {
      await ctx.db.query('UPDATE forcehook.app_users SET salesforce_contact_id = NULL, updated_at = now() WHERE salesforce_contact_id = ANY($1)', [deleted]);
    }
    const live = events.filter((e) => e.operation !== 'delete');
    const emails = [...new Set(live.map(emailOf).filter((e): e is string => e !== undefined))];
    const { rows } = await ctx.db.query<{ id: string; email: string }>('SELECT id, lower(email) AS email FROM forcehook.app_users WHERE lower(email) = ANY($1)', [emails]);
    const usersByEmail = Map.groupBy(rows, (r) => r.email);

    const matched: { userId: string; contactId: string }[] = [];
    for (const event of live) {
      const email = emailOf(event);
      const users = email ? (usersByEmail.get(email) ?? []) : [];
      const status: SyncStatus = users.length === 1 ? 'Matched' : users.length === 0 ? 'No match' : 'Ambiguous';
      const externalId = status === 'Matched' ? users[0]!.id : null;
      if (status === 'Matched') matched.push({ userId: externalId!, contactId: event.recordId });
      // Write back only what would change: every write is an API call, and writing the same values
      // again would fire the org's triggers for nothing.
      const unchanged = event.fields['Sync_Status__c'] === status && (event.fields['External_Id__c'] ?? null) === externalId;
      if (!unchanged) ctx.salesforce?.update('Contact', event.recordId, { External_Id__c: externalId, Sync_Status__c: status }, { cause: event });
    }
    if (matched.length > 0) {
      await ctx.db.query(
        `UPDATE forcehook.app_users AS u SET salesforce_contact_id = m.contact_id, updated_at = now()
         FROM unnest($1::text[], $2::text[]) AS m(user_id, contact_id)
         WHERE u.id = m.user_id AND u.salesforce_contact_id IS DISTINCT FROM m.contact_id`,
        [matched.map((m) => m.userId), matched.map((m) => m.contactId)],
      );
    }
    if (!ctx.salesforce) ctx.log.debug('Salesforce is not configured: matched locally, nothing written back');
  },
});

function emailOf(event: SalesforceEvent): string | undefined {
  const email = event.fields['Email'];
  return typeof email === 'string' && email.trim() !== '' ? email.trim().toLowerCase() : undefined;
}
