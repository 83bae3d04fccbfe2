import { definePushMapping } from 'forcehook';

interface AppUser {
  id: string;
  email: string;
  name: string | null;
}

/**
 * The example mapping: the users of your app (forcehook.app_users) as Contacts, upserted by
 * External_Id__c = the user's id — the other direction of the contact-match handler.
 */
export const appUsersMapping = definePushMapping<AppUser>({
  name: 'app-users',
  sobjectType: 'Contact',
  externalIdField: 'External_Id__c',
  async load(db, ids) {
    const { rows } = await db.query<AppUser>('SELECT id, email, name FROM forcehook.app_users WHERE $1::text[] IS NULL OR id = ANY($1) ORDER BY id', [ids ?? null]);
    return rows;
  },
  localId: (u) => u.id,
  fields: (u) => ({ Email: u.email, LastName: u.name ?? u.email, Sync_Status__c: 'Matched' }),
  async afterUpsert(db, u, salesforceId) {
    await db.query('UPDATE forcehook.app_users SET salesforce_contact_id = $2, updated_at = now() WHERE id = $1 AND salesforce_contact_id IS DISTINCT FROM $2', [u.id, salesforceId]);
  },
});
