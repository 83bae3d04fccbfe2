import { saveResultError } from '../../src/writeback/salesforce-errors.js';

describe('saveResultError', () => {
  test('is the message forcehook stores and prints for a refused record', () => {
    const error = saveResultError({ success: false, errors: [{ statusCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'Description must not say bad', fields: ['Description'] }] });
    expect(error).toMatchObject({ salesforceCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', retryable: false });
    expect(error.message).toBe('Salesforce FIELD_CUSTOM_VALIDATION_EXCEPTION: Description must not say bad (fields: Description)');
  });

  test('is retryable by its code, and skips the OPERATION_ENQUEUED a Platform Event carries', () => {
    const error = saveResultError({ success: false, errors: [{ statusCode: 'OPERATION_ENQUEUED', message: 'uuid' }, { errorCode: 'UNABLE_TO_LOCK_ROW', message: 'locked' }] });
    expect(error).toMatchObject({ salesforceCode: 'UNABLE_TO_LOCK_ROW', retryable: true, message: 'Salesforce UNABLE_TO_LOCK_ROW: locked' });
  });

  test('says when Salesforce gave no reason or no result', () => {
    expect(saveResultError({ success: false }).message).toBe('Salesforce UNKNOWN: no reason given');
    expect(saveResultError(undefined).message).toBe('Salesforce UNKNOWN: no result for this record');
  });
});
