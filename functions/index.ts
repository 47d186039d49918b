/** The entry the Azure Functions host loads (package.json "main"). */
import { app } from '@azure/functions';
import { setup } from './register.js';

app.setup({ enableHttpStream: false });
setup(app);
